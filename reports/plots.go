package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// Plot geometry, in SVG user units.
const (
	plLeft    = 64.0
	plW       = 1100.0
	plTop     = 28.0
	plH       = 220.0
	plBottom  = 24.0
	maxPoints = 5000 // latency points kept after downsampling
	maxBucket = 1200 // throughput buckets
)

// fColours gives the well-known op functions fixed colours; others take
// the rest in order of first appearance.
var fColours = map[string]string{
	history.FAcquire: "#2f6fb0",
	history.FRelease: "#3a9a5b",
	history.FRead:    "#7a7f8c",
	history.FWrite:   "#d4761c",
}

var extraColours = []string{"#8e44ad", "#c0392b", "#16a085", "#b7950b", "#5d6d7e"}

// opColour returns the colour of op function f, extending m as needed.
func opColour(m map[string]string, f string) string {
	if c, ok := m[f]; ok {
		return c
	}
	if c, ok := fColours[f]; ok {
		m[f] = c
		return c
	}
	c := extraColours[len(m)%len(extraColours)]
	m[f] = c
	return c
}

// A series is the latency points of one op function and one outcome.
type series struct {
	f       string
	outcome history.Type
	pts     [][2]float64 // x, y in SVG units
}

// latencyPlot draws latency (log scale) against invoke time, one colour per
// op function and one mark per outcome, downsampled to maxPoints marks.
func (d *runData) latencyPlot(colours map[string]string) *svgBuf {
	b := &svgBuf{}
	t0 := d.start
	t1 := max(d.end, t0+1)
	lo, hi := math.Inf(1), 0.0
	for _, p := range d.pairs {
		if l := p.latency(); l >= 0 {
			v := math.Max(float64(l), 1e3) // floor at 1µs for the log scale
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi == 0 {
		lo, hi = 1e6, 1e9
	}
	// A little headroom, so that points on a decade do not sit on the frame.
	dlo, dhi := math.Floor(math.Log10(lo)-0.15), math.Ceil(math.Log10(hi)+0.05)
	if dhi <= dlo {
		dhi = dlo + 1
	}
	xOf := func(t int64) float64 { return plLeft + float64(t-t0)/float64(t1-t0)*plW }
	yOf := func(ns float64) float64 {
		return plTop + plH - (math.Log10(math.Max(ns, 1e3))-dlo)/(dhi-dlo)*plH
	}
	fcol := map[string]string{}
	byKey := map[string]int{}
	var all []*series
	seen := map[[3]int]bool{}
	for _, p := range d.pairs {
		l := p.latency()
		if l < 0 {
			continue
		}
		k := p.inv.F + "\x00" + string(p.done.Type)
		si, ok := byKey[k]
		if !ok {
			si = len(all)
			byKey[k] = si
			all = append(all, &series{f: p.inv.F, outcome: p.done.Type})
			opColour(fcol, p.inv.F)
		}
		x, y := xOf(p.inv.Time), yOf(float64(l))
		cell := [3]int{si, int(x), int(y / 2)}
		if seen[cell] {
			continue
		}
		seen[cell] = true
		all[si].pts = append(all[si].pts, [2]float64{x, y})
	}
	total := 0
	for _, s := range all {
		total += len(s.pts)
	}
	if total > maxPoints {
		for _, s := range all {
			keep := max(len(s.pts)*maxPoints/total, 1)
			s.pts = stride(s.pts, keep)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].outcome != all[j].outcome {
			return all[i].outcome == history.Ok // ok first, so failures draw on top
		}
		return all[i].f < all[j].f
	})
	b.f(`<svg id="latency" class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="latency over time">`,
		num(plLeft+plW+10), num(plTop+plH+plBottom))
	shadeFaults(b, d.faults, colours, t0, t1, plLeft, plW, plTop, plTop+plH)
	timeAxis(b, t0, t1, plLeft, plW, plTop, plTop+plH)
	b.f(`<g class="axis y">`)
	for e := dlo; e <= dhi; e++ {
		y := yOf(math.Pow(10, e))
		b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(plLeft), num(plLeft+plW), num(y), num(y), num(plLeft-6), num(y+4), esc(fmtLatency(math.Pow(10, e))))
	}
	b.f(`</g>`)
	for _, s := range all {
		c := fcol[s.f]
		var sb strings.Builder
		for _, p := range s.pts {
			x, y := num(p[0]), num(p[1])
			switch s.outcome {
			case history.Ok:
				fmt.Fprintf(&sb, "M%s %sh0", x, y)
			case history.Fail:
				fmt.Fprintf(&sb, "M%s %sm-3 -3l6 6m0 -6l-6 6", x, y)
			default:
				fmt.Fprintf(&sb, "M%s %sm0 -4l4 7h-8z", x, y)
			}
		}
		style := fmt.Sprintf(`stroke="%s" stroke-width="4.2" stroke-linecap="round" fill="none"`, c)
		switch s.outcome {
		case history.Fail:
			style = fmt.Sprintf(`stroke="%s" stroke-width="1.6" fill="none"`, c)
		case history.Info:
			style = fmt.Sprintf(`stroke="%s" stroke-width="1.3" fill="#fff"`, c)
		}
		b.f(`<path class="pts" data-f="%s" data-outcome="%s" %s d="%s"><title>%s %s: %d points shown</title></path>`,
			esc(s.f), esc(string(s.outcome)), style, sb.String(), esc(s.f), esc(string(s.outcome)), len(s.pts))
	}
	legend(b, fcol)
	b.f(`</svg>`)
	return b
}

// legend writes the op colours and outcome marks across the top of a plot.
func legend(b *svgBuf, fcol map[string]string) {
	names := make([]string, 0, len(fcol))
	for f := range fcol {
		names = append(names, f)
	}
	sort.Strings(names)
	x := plLeft
	b.f(`<g class="legend">`)
	for _, f := range names {
		b.f(`<rect x="%s" y="8" width="10" height="10" rx="2" fill="%s"/><text x="%s" y="17">%s</text>`,
			num(x), fcol[f], num(x+14), esc(f))
		x += 24 + 7*float64(len([]rune(f)))
	}
	x += 16
	b.f(`<path d="M%s 13h0" stroke="#333" stroke-width="3.2" stroke-linecap="round"/><text x="%s" y="17">ok</text>`, num(x+4), num(x+12))
	x += 40
	b.f(`<path d="M%s 10l6 6m0 -6l-6 6" stroke="#333" stroke-width="1.6"/><text x="%s" y="17">fail</text>`, num(x+1), num(x+12))
	x += 44
	b.f(`<path d="M%s 9l4 7h-8z" stroke="#333" stroke-width="1.3" fill="#fff"/><text x="%s" y="17">info (indeterminate)</text>`, num(x+4), num(x+12))
	b.f(`</g>`)
}

// stride keeps n points spread evenly over pts.
func stride(pts [][2]float64, n int) [][2]float64 {
	if n >= len(pts) {
		return pts
	}
	out := make([][2]float64, 0, n)
	step := float64(len(pts)) / float64(n)
	for i := 0; i < n; i++ {
		out = append(out, pts[int(float64(i)*step)])
	}
	return out
}

// fmtLatency labels the latency axis.
func fmtLatency(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%gms", ns/1e6)
	default:
		return fmt.Sprintf("%gµs", ns/1e3)
	}
}

// throughputPlot draws completed ops per second over time, one line per
// outcome, in 1 s buckets (wider for runs longer than maxBucket seconds).
func (d *runData) throughputPlot(colours map[string]string) (*svgBuf, int64) {
	b := &svgBuf{}
	t0 := d.start
	t1 := max(d.end, t0+1)
	bw := int64(1e9)
	if n := (t1-t0)/bw + 1; n > maxBucket {
		bw = int64(math.Ceil(float64(t1-t0)/float64(maxBucket)/1e9)) * 1e9
	}
	nb := int((t1-t0)/bw) + 1
	counts := map[history.Type][]float64{
		history.Ok: make([]float64, nb), history.Fail: make([]float64, nb), history.Info: make([]float64, nb),
	}
	for _, p := range d.pairs {
		if p.noDone || p.done.Time < t0 {
			continue
		}
		counts[p.done.Type][int((p.done.Time-t0)/bw)]++
	}
	peak := 1.0
	for _, cs := range counts {
		for i := range cs {
			cs[i] /= float64(bw) / 1e9
			peak = math.Max(peak, cs[i])
		}
	}
	step := niceStep(peak, 4)
	top := math.Ceil(peak/step) * step
	xOf := func(t int64) float64 { return plLeft + float64(t-t0)/float64(t1-t0)*plW }
	yOf := func(v float64) float64 { return plTop + plH - v/top*plH }
	b.f(`<svg id="throughput" class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="throughput over time">`,
		num(plLeft+plW+10), num(plTop+plH+plBottom))
	shadeFaults(b, d.faults, colours, t0, t1, plLeft, plW, plTop, plTop+plH)
	timeAxis(b, t0, t1, plLeft, plW, plTop, plTop+plH)
	b.f(`<g class="axis y">`)
	for v := 0.0; v <= top+step/2; v += step {
		b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(plLeft), num(plLeft+plW), num(yOf(v)), num(yOf(v)), num(plLeft-6), num(yOf(v)+4), esc(fmt.Sprintf("%g/s", v)))
	}
	b.f(`</g>`)
	lineCol := map[history.Type]string{history.Ok: "#2e8b57", history.Fail: "#d4761c", history.Info: "#8e44ad"}
	x := plLeft
	b.f(`<g class="legend">`)
	for _, t := range []history.Type{history.Ok, history.Fail, history.Info} {
		cs := counts[t]
		var sb strings.Builder
		for i, v := range cs {
			tm := min(t0+int64(i)*bw+bw/2, t1)
			fmt.Fprintf(&sb, "%s,%s ", num(xOf(tm)), num(yOf(v)))
		}
		b.f(`<polyline class="rate" data-outcome="%s" fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`,
			esc(string(t)), lineCol[t], strings.TrimSpace(sb.String()))
		b.f(`<rect x="%s" y="11" width="14" height="3" fill="%s"/><text x="%s" y="17">%s</text>`,
			num(x), lineCol[t], num(x+18), esc(string(t)))
		x += 70
	}
	b.f(`</g></svg>`)
	return b, bw
}
