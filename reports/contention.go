package reports

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// Geometry of the throughput-by-clients plot, beside the frame it shares
// with the other plots (plLeft, plW, plTop, plH).
const (
	ctInset  = 36.0 // from the frame to the fewest and the most clients
	ctBottom = 62.0 // below the frame: client labels, axis title, caption
	ctLabelW = 22.0 // the least room between two client labels
)

// wayColours gives each way of the contention workload a fixed colour;
// a way the report does not know takes one of extraColours.
var wayColours = map[string]string{
	checker.WayLock:       "#2f6fb0",
	checker.WayOptimistic: "#d4761c",
	checker.WayAtomic:     "#2e8b57",
}

// wayLabels name the ways in the legend, the tooltips and the table.
var wayLabels = map[string]string{
	checker.WayLock:       "under the lock",
	checker.WayOptimistic: "optimistic (conditional write)",
	checker.WayAtomic:     "atomic decrement",
}

// wayLabel names way for the legend, the tooltips and the table; a way
// the report does not know is named as recorded.
func wayLabel(way string) string {
	if l, ok := wayLabels[way]; ok {
		return l
	}
	return way
}

// wayShort names way in the ratio caption.
func wayShort(way string) string {
	if way == checker.WayLock {
		return "the lock"
	}
	return way
}

// contentionView is the throughput-by-clients section of a run page: the
// plot and its figures, one row per number of clients.
type contentionView struct {
	SVG  template.HTML
	Ways []string // the table's column groups, as wayLabel names them
	Rows []contentionRow
}

// contentionRow is what every way made with one number of clients.
type contentionRow struct {
	Clients int
	Cells   []contentionCell // one per way of the view, in its order
}

// contentionCell is one way's figures in a contentionRow; Measured is false
// when the way did not run with that many clients.
type contentionCell struct {
	Measured            bool
	PerSecond, P50, P99 string
}

// cellPlot is one cell's throughput-by-clients plot on the campaign page,
// drawn from the run of the cell with seed Seed.
type cellPlot struct {
	Name string
	Seed int64
	Href template.URL
	SVG  template.HTML
}

// runReader returns the results of the run in dir (relative to the store,
// as a campaign lists it), and false when they cannot be read.
type runReader func(dir string) (store.RunResult, bool)

// contentionDetails decodes the figures of a contention checker's result;
// ok is false when r is another checker's, cannot be decoded or measured no
// point.
func contentionDetails(r checker.Result) (checker.ContentionDetails, bool) {
	var d checker.ContentionDetails
	if r.Checker != checker.NameContention || len(r.Details) == 0 || json.Unmarshal(r.Details, &d) != nil {
		return d, false
	}
	return d, len(d.Points) > 0
}

// contentionOf finds the figures of the contention checker among a run's
// results.
func contentionOf(res store.RunResult) (checker.ContentionDetails, bool) {
	for _, r := range res.Results {
		if d, ok := contentionDetails(r); ok {
			return d, true
		}
	}
	return checker.ContentionDetails{}, false
}

// contentionWays lists the ways of ps: those of checker.Ways in their order,
// then any other in order of first appearance.
func contentionWays(ps []checker.ContentionPoint) []string {
	var known, other []string
	for _, p := range ps {
		switch {
		case slices.Contains(known, p.Way) || slices.Contains(other, p.Way):
		case slices.Contains(checker.Ways, p.Way):
			known = append(known, p.Way)
		default:
			other = append(other, p.Way)
		}
	}
	sort.Slice(known, func(i, j int) bool {
		return slices.Index(checker.Ways, known[i]) < slices.Index(checker.Ways, known[j])
	})
	return append(known, other...)
}

// clientCounts lists the numbers of clients measured in ps, ascending; a
// point with no clients has no place on a log scale and is left out.
func clientCounts(ps []checker.ContentionPoint) []int {
	var out []int
	for _, p := range ps {
		if p.Clients > 0 && !slices.Contains(out, p.Clients) {
			out = append(out, p.Clients)
		}
	}
	slices.Sort(out)
	return out
}

// wayPoints returns the points of way in ps with clients, by clients.
func wayPoints(ps []checker.ContentionPoint, way string) []checker.ContentionPoint {
	var out []checker.ContentionPoint
	for _, p := range ps {
		if p.Way == way && p.Clients > 0 {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Clients < out[j].Clients })
	return out
}

// rate returns a deductions-a-second figure fit to draw: 0 for one that is
// negative or not a number.
func rate(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// contentionPlot draws deductions a second against the number of clients
// (log2 scale, a tick at each number measured), one line per way in its
// fixed colour and mark, the knee of the lock's curve as a dashed line and
// the ratios against the lock as a caption. Every point has a tooltip with
// its figures. id is the svg element's id, unique on its page.
func contentionPlot(d checker.ContentionDetails, id string) *svgBuf {
	b := &svgBuf{}
	counts := clientCounts(d.Points)
	ways := contentionWays(d.Points)
	bottom := plTop + plH
	b.f(`<svg id="%s" class="plot contention" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="deductions per second by clients">`,
		esc(id), num(plLeft+plW+10), num(bottom+ctBottom))
	if len(counts) == 0 {
		b.f(`<text x="%s" y="%s">no phase with any clients was measured</text></svg>`, num(plLeft), num(plTop+20))
		return b
	}

	lo, hi := math.Log2(float64(counts[0])), math.Log2(float64(counts[len(counts)-1]))
	x0, w := plLeft+ctInset, plW-2*ctInset
	xOf := func(clients int) float64 {
		if hi <= lo {
			return x0 + w/2
		}
		v := min(max(math.Log2(float64(clients)), lo), hi)
		return x0 + (v-lo)/(hi-lo)*w
	}
	peak := 0.0
	for _, p := range d.Points {
		peak = max(peak, rate(p.PerSecond))
	}
	step := niceStep(peak, 5)
	top := max(math.Ceil(peak/step)*step, step)
	yOf := func(v float64) float64 { return bottom - rate(v)/top*plH }

	b.f(`<g class="axis y">`)
	for i := 0; float64(i)*step <= top+step/2; i++ {
		v := float64(i) * step
		b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(plLeft), num(plLeft+plW), num(yOf(v)), num(yOf(v)), num(plLeft-6), num(yOf(v)+4), esc(rateTick(v)+"/s"))
	}
	b.f(`</g>`)

	b.f(`<g class="axis x">`)
	lastLabel := math.Inf(-1)
	for _, c := range counts {
		x := xOf(c)
		b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(x), num(x), num(plTop), num(bottom))
		if x-lastLabel >= ctLabelW {
			b.f(`<text x="%s" y="%s" text-anchor="middle">%d</text>`, num(x), num(bottom+14), c)
			lastLabel = x
		}
	}
	b.f(`<text x="%s" y="%s" text-anchor="middle">clients (log scale)</text></g>`, num(x0+w/2), num(bottom+30))

	if d.LockKnee > 0 {
		kneeMark(b, d, xOf(d.LockKnee), x0+w*0.75)
	}

	for wi, way := range ways {
		colour := wayColour(way, wi)
		pts := wayPoints(d.Points, way)
		var sb strings.Builder
		for _, p := range pts {
			fmt.Fprintf(&sb, "%s,%s ", num(xOf(p.Clients)), num(yOf(p.PerSecond)))
		}
		b.f(`<polyline class="way" data-way="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`,
			esc(way), colour, strings.TrimSpace(sb.String()))
		b.f(`<g class="pts" data-way="%s" fill="%s" stroke="#fff" stroke-width="1.2">`, esc(way), colour)
		for _, p := range pts {
			wayMark(b, wi, xOf(p.Clients), yOf(p.PerSecond), pointTitle(p))
		}
		b.f(`</g>`)
	}

	wayLegend(b, ways)
	if s := ratioCaption(d); s != "" {
		b.f(`<text class="caption" x="%s" y="%s">%s</text>`, num(plLeft), num(bottom+ctBottom-8), esc(s))
	}
	b.f(`</svg>`)
	return b
}

// wayColour is the colour of way, the i-th way drawn.
func wayColour(way string, i int) string {
	if c, ok := wayColours[way]; ok {
		return c
	}
	return extraColours[i%len(extraColours)]
}

// wayMark draws the mark of the i-th way drawn at (x, y): a circle, a
// square, a diamond, then circles again, with title as its tooltip. Fill
// and stroke come from the enclosing group.
func wayMark(b *svgBuf, i int, x, y float64, title string) {
	switch i % 3 {
	case 1:
		b.f(`<rect x="%s" y="%s" width="8" height="8"><title>%s</title></rect>`, num(x-4), num(y-4), esc(title))
	case 2:
		b.f(`<path d="M%s %sl5 5l-5 5l-5 -5z"><title>%s</title></path>`, num(x), num(y-5), esc(title))
	default:
		b.f(`<circle cx="%s" cy="%s" r="4.5"><title>%s</title></circle>`, num(x), num(y), esc(title))
	}
}

// kneeMark draws the knee of the lock's curve: a dashed vertical line at x
// with its label, on the line's left when x lies right of flip.
func kneeMark(b *svgBuf, d checker.ContentionDetails, x, flip float64) {
	label := "knee: " + checker.Plural(d.LockKnee, "client")
	title := fmt.Sprintf("The lock made %.0f%% of its best throughput with %s.", 100*checker.KneeShare,
		checker.Plural(d.LockKnee, "client"))
	if d.LockGain > 0 {
		title += fmt.Sprintf(" All the clients past the knee added %.0f%% to that.", 100*(d.LockGain-1))
	}
	tx, anchor := x+6, "start"
	if x > flip {
		tx, anchor = x-6, "end"
	}
	b.f(`<g class="knee"><title>%s</title><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.2" stroke-dasharray="5 4"/>`,
		esc(title), num(x), num(x), num(plTop), num(plTop+plH), wayColours[checker.WayLock])
	b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s">%s</text></g>`,
		num(tx), num(plTop+14), anchor, wayColours[checker.WayLock], esc(label))
}

// wayLegend writes each way's line, mark and name across the top of the
// plot.
func wayLegend(b *svgBuf, ways []string) {
	x := plLeft
	b.f(`<g class="legend">`)
	for i, way := range ways {
		c := wayColour(way, i)
		b.f(`<line x1="%s" x2="%s" y1="13" y2="13" stroke="%s" stroke-width="2"/>`, num(x), num(x+22), c)
		b.f(`<g fill="%s" stroke="#fff" stroke-width="1.2">`, c)
		wayMark(b, i, x+11, 13, wayLabel(way))
		label := wayLabel(way)
		b.f(`</g><text x="%s" y="17">%s</text>`, num(x+28), esc(label))
		x += 44 + 6.2*float64(len([]rune(label)))
	}
	b.f(`</g>`)
}

// pointTitle is the tooltip of one point: its way, clients and figures.
func pointTitle(p checker.ContentionPoint) string {
	s := fmt.Sprintf("%s, %s: %s deductions/s (%d in %ss), p50 %s ms, p90 %s ms, p99 %s ms, %d retries",
		wayLabel(p.Way), checker.Plural(p.Clients, "client"), fmtRate(p.PerSecond), p.Deductions,
		strconv.FormatFloat(math.Round(p.Seconds*100)/100, 'f', -1, 64), fmtMs(p.P50Ms), fmtMs(p.P90Ms), fmtMs(p.P99Ms), p.Retries)
	if p.Indeterminate > 0 {
		s += fmt.Sprintf(", %d indeterminate", p.Indeterminate)
	}
	if p.Key != "" {
		s += ", key " + clip(p.Key, 200)
	}
	return s
}

// ratioCaption says how many times the lock's deductions a second each
// lock-free way made, e.g. "at 16 clients: optimistic 1.7×, atomic 10.3×
// the lock", or "" when there are no ratios.
func ratioCaption(d checker.ContentionDetails) string {
	var ways []string
	for _, way := range checker.Ways {
		if _, ok := d.Ratios[way]; ok && way != checker.WayLock {
			ways = append(ways, way)
		}
	}
	var other []string
	for way := range d.Ratios {
		if !slices.Contains(checker.Ways, way) {
			other = append(other, way)
		}
	}
	sort.Strings(other)
	var parts []string
	for _, way := range append(ways, other...) {
		r := d.Ratios[way]
		if math.IsNaN(r) || math.IsInf(r, 0) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s×", wayShort(clip(way, 100)), strconv.FormatFloat(r, 'f', 1, 64)))
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, ", ") + " the lock"
	if d.At > 0 {
		s = "at " + checker.Plural(d.At, "client") + ": " + s
	}
	return s
}

// rateTick labels the deductions axis: 500, 2.5k, 12k, 1.2M.
func rateTick(v float64) string {
	short := func(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }
	switch {
	case v >= 1e6:
		return short(v/1e6) + "M"
	case v >= 1e3:
		return short(v/1e3) + "k"
	}
	return short(v)
}

// fmtRate writes deductions a second for a table or tooltip: whole, with
// thousands commas (12,345), or with one decimal below 100.
func fmtRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if math.Abs(v) < 100 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	digits := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fmtMs writes a latency in milliseconds to at most two decimals.
func fmtMs(ms float64) string {
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return "–"
	}
	return strconv.FormatFloat(math.Round(ms*100)/100, 'f', -1, 64)
}

// buildContention makes the run page's section from the contention
// checker's figures: the plot (its svg element called id) and the table
// of every way by every number of clients.
func buildContention(d checker.ContentionDetails, id string) *contentionView {
	v := &contentionView{SVG: contentionPlot(d, id).html()}
	ways := contentionWays(d.Points)
	for _, way := range ways {
		v.Ways = append(v.Ways, wayLabel(way))
	}
	for _, c := range clientCounts(d.Points) {
		row := contentionRow{Clients: c}
		for _, way := range ways {
			var cell contentionCell
			for _, p := range d.Points {
				if p.Way == way && p.Clients == c {
					cell = contentionCell{Measured: true, PerSecond: fmtRate(p.PerSecond), P50: fmtMs(p.P50Ms), P99: fmtMs(p.P99Ms)}
					break
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// cellPlots draws, for each cell with a contention result, the plot of the
// first of its runs that has one, read with read. A nil read draws none.
func cellPlots(cells []store.CellResult, read runReader) []cellPlot {
	if read == nil {
		return nil
	}
	var out []cellPlot
	for _, cell := range cells {
		for _, r := range cell.Runs {
			res, ok := read(r.Dir)
			if !ok {
				continue
			}
			d, ok := contentionOf(res)
			if !ok {
				continue
			}
			id := fmt.Sprintf("contention-plot-%d", len(out)+1)
			out = append(out, cellPlot{Name: cell.Name, Seed: r.Seed, Href: runHref(r.Dir), SVG: contentionPlot(d, id).html()})
			break
		}
	}
	return out
}

// storeReader reads runs' results.json inside root, so that a run
// directory naming a place outside the store (by "..", an absolute path
// or a symlink) is not read.
func storeReader(root *os.Root) runReader {
	return func(dir string) (store.RunResult, bool) {
		var res store.RunResult
		d := path.Clean(strings.ReplaceAll(dir, `\`, "/"))
		if dir == "" || d == "." {
			return res, false
		}
		return res, readJSON(root, path.Join(d, store.ResultsFile), &res) == nil
	}
}
