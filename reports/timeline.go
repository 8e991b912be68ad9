package reports

import (
	"fmt"
	"sort"
	"strings"
)

// Timeline geometry, in SVG user units (the SVG scales to the page width).
const (
	tlLabelW    = 84.0
	tlPlotW     = 1100.0
	tlTop       = 20.0
	tlAxisH     = 22.0
	maxLanes    = 40   // overview lanes before processes are packed
	focusLanes  = 12   // lanes in a focus window
	exactHolds  = 2500 // holds drawn one by one up to this many in a view
	exactGlyphs = 1500 // failed/indeterminate marks drawn one by one
	buckets     = 550  // aggregation columns of a view (2 units each)
	maxMarkers  = 200  // incident markers in the overview
	focusPad    = 2e9  // at most this much time either side of an anomaly, ns
	focusMinPad = 5e8  // at least this much
	maxFocus    = 5    // focus windows per page: one per incident told in full
	maxOverlapD = 1500 // overlap segments drawn per view
)

// A lane is one row of the timeline. It normally shows one process; in
// long runs with many processes it shows several whose lifetimes do not
// overlap.
type lane struct {
	label string
	procs []int
}

// A marker points from the timeline at an incident of the page.
type marker struct {
	n     int // incident number, for the #incident-N anchor
	kind  string
	key   string
	procs []int
	start int64
	end   int64
	title string
}

// A view is one drawing of the timeline: the overview or a focus window.
type view struct {
	id      string
	t0, t1  int64
	lanes   []lane
	laneH   float64
	markers []marker
	focus   bool
	key     string // in a focus window, holds on other keys are dimmed
}

// overviewLanes gives one lane per process, or packs processes whose
// lifetimes do not overlap into shared lanes when there are too many.
func (d *runData) overviewLanes() []lane {
	if len(d.processes) <= maxLanes {
		ls := make([]lane, len(d.processes))
		for i, p := range d.processes {
			ls[i] = lane{label: fmt.Sprintf("p%d", p), procs: []int{p}}
		}
		return ls
	}
	type life struct {
		p          int
		first, end int64
	}
	lives := map[int]*life{}
	for _, pr := range d.pairs {
		l, ok := lives[pr.inv.Process]
		if !ok {
			l = &life{p: pr.inv.Process, first: pr.inv.Time}
			lives[pr.inv.Process] = l
		}
		l.end = max(l.end, pr.done.Time)
	}
	order := make([]*life, 0, len(lives))
	for _, l := range lives {
		order = append(order, l)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].first < order[j].first })
	var ls []lane
	var laneEnd []int64
	for _, l := range order {
		placed := false
		for i := range ls {
			if laneEnd[i] < l.first {
				ls[i].procs = append(ls[i].procs, l.p)
				laneEnd[i] = l.end
				placed = true
				break
			}
		}
		if !placed {
			if len(ls) >= maxLanes {
				i := l.p % maxLanes
				ls[i].procs = append(ls[i].procs, l.p)
				laneEnd[i] = max(laneEnd[i], l.end)
				continue
			}
			ls = append(ls, lane{procs: []int{l.p}})
			laneEnd = append(laneEnd, l.end)
		}
	}
	for i := range ls {
		ls[i].label = fmt.Sprintf("p%d", ls[i].procs[0])
		if n := len(ls[i].procs); n > 1 {
			ls[i].label += fmt.Sprintf(" +%d", n-1)
		}
	}
	return ls
}

// focusView returns the view around one anomaly: its processes first, then
// the others active in the window, at most focusLanes of them.
func (d *runData) focusView(id string, m marker) view {
	pad := min(max(2*(m.end-m.start), focusMinPad), focusPad)
	t0 := max(m.start-pad, 0)
	t1 := m.end + pad
	onKey := map[int]bool{}
	active := map[int]bool{}
	for _, hd := range d.holds {
		if hd.end >= t0 && hd.start <= t1 {
			active[hd.process] = true
			if hd.key == m.key {
				onKey[hd.process] = true
			}
		}
	}
	for _, pr := range d.pairs {
		if pr.done.Time >= t0 && pr.inv.Time <= t1 {
			active[pr.inv.Process] = true
			if pr.inv.Key == m.key {
				onKey[pr.inv.Process] = true
			}
		}
	}
	var ls []lane
	used := map[int]bool{}
	add := func(p int) {
		if used[p] || len(ls) >= focusLanes {
			return
		}
		used[p] = true
		ls = append(ls, lane{label: fmt.Sprintf("p%d", p), procs: []int{p}})
	}
	for _, p := range m.procs {
		add(p)
	}
	// Then whoever touched the anomaly's key; others only when it has none.
	for _, p := range d.processes {
		if onKey[p] || (m.key == "" && active[p]) {
			add(p)
		}
	}
	if len(ls) == 0 {
		for _, p := range d.processes {
			if active[p] {
				add(p)
			}
		}
	}
	return view{id: id, t0: t0, t1: t1, lanes: ls, laneH: 24, markers: []marker{m}, focus: true, key: m.key}
}

// draw writes the SVG of one view.
func (d *runData) draw(v view, colours map[string]string) *svgBuf {
	b := &svgBuf{}
	if v.t1 <= v.t0 {
		v.t1 = v.t0 + 1e9
	}
	span := float64(v.t1 - v.t0)
	x := func(t int64) float64 { return tlLabelW + float64(t-v.t0)/span*tlPlotW }
	lanesH := float64(len(v.lanes)) * v.laneH
	height := tlTop + lanesH + tlAxisH
	laneOf := map[int]int{}
	for i, l := range v.lanes {
		for _, p := range l.procs {
			laneOf[p] = i
		}
	}
	laneY := func(i int) float64 { return tlTop + float64(i)*v.laneH }
	cls := "timeline"
	if v.focus {
		cls += " focus"
	}
	b.f(`<svg id="%s" class="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="timeline">`,
		esc(v.id), cls, num(tlLabelW+tlPlotW+8), num(height))
	shadeFaults(b, d.faults, colours, v.t0, v.t1, tlLabelW, tlPlotW, tlTop, tlTop+lanesH)
	timeAxis(b, v.t0, v.t1, tlLabelW, tlPlotW, tlTop, tlTop+lanesH)

	// Holds, per lane.
	var inRange []int
	for i, hd := range d.holds {
		if _, ok := laneOf[hd.process]; ok && hd.end >= v.t0 && hd.start <= v.t1 {
			inRange = append(inRange, i)
		}
	}
	barH := v.laneH * 0.56
	perLane := make([][]int, len(v.lanes))
	for _, i := range inRange {
		l := laneOf[d.holds[i].process]
		perLane[l] = append(perLane[l], i)
	}
	glyphs := d.glyphsIn(v, laneOf)
	for li, l := range v.lanes {
		y := laneY(li)
		b.f(`<g class="lane" data-lane="%d">`, li)
		b.f(`<text class="lane-label" x="%s" y="%s">%s<title>%s</title></text>`,
			num(tlLabelW-6), num(y+v.laneH*0.7), esc(l.label), esc(procList(l.procs)))
		b.f(`<line class="lane-rule" x1="%s" x2="%s" y1="%s" y2="%s"/>`,
			num(tlLabelW), num(tlLabelW+tlPlotW), num(y+v.laneH), num(y+v.laneH))
		by := y + (v.laneH-barH)/2
		if len(inRange) <= exactHolds {
			for _, i := range perLane[li] {
				hd := d.holds[i]
				xa, xb := x(max(hd.start, v.t0)), x(min(hd.end, v.t1))
				c := "hold"
				if hd.red {
					c += " red"
				}
				if hd.open {
					c += " open"
				}
				if v.key != "" && hd.key != v.key {
					c += " other"
				}
				b.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
					c, num(xa), num(by), num(max(xb-xa, 1)), num(barH), esc(holdTitle(hd)))
			}
		} else {
			d.aggregateHolds(b, perLane[li], v, by, barH)
		}
		b.f(`</g>`)
	}
	d.drawOverlaps(b, v, laneOf, laneY, barH, x)
	// Marks go on top of the bars and overlaps, so that none hides.
	for li := range v.lanes {
		if len(glyphs[li]) > 0 {
			b.f(`<g class="marks">`)
			d.drawGlyphs(b, glyphs[li], v, laneY(li))
			b.f(`</g>`)
		}
	}
	for _, m := range v.markers {
		xa := x(max(m.start, v.t0))
		if v.focus {
			xb := x(min(m.end, v.t1))
			b.f(`<rect class="anomaly-span" x="%s" y="%s" width="%s" height="%s"/>`,
				num(xa), num(tlTop), num(max(xb-xa, 1)), num(lanesH))
		}
		b.f(`<a href="#incident-%d"><path class="marker" d="M%s %sl-6 -10h12z"/><title>%s</title></a>`,
			m.n, num(xa), num(tlTop-1), esc(m.title))
	}
	b.f(`</svg>`)
	return b
}

// aggregateHolds draws a lane's holds as runs of covered columns, so that a
// view of a long run has a bounded number of elements.
func (d *runData) aggregateHolds(b *svgBuf, idx []int, v view, by, barH float64) {
	var held, red [buckets]bool
	var starts [buckets]int
	span := float64(v.t1 - v.t0)
	col := func(t int64) int {
		c := int(float64(t-v.t0) / span * buckets)
		return min(max(c, 0), buckets-1)
	}
	for _, i := range idx {
		hd := d.holds[i]
		a, e := col(hd.start), col(hd.end)
		starts[a]++
		for c := a; c <= e; c++ {
			held[c] = true
			if hd.red {
				red[c] = true
			}
		}
	}
	w := tlPlotW / buckets
	runs := func(on *[buckets]bool, c string) {
		for c0 := 0; c0 < buckets; {
			if !on[c0] {
				c0++
				continue
			}
			c1, n := c0, 0
			for c1 < buckets && on[c1] {
				n += starts[c1]
				c1++
			}
			b.f(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%d holds (aggregated)</title></rect>`,
				c, num(tlLabelW+float64(c0)*w), num(by), num(float64(c1-c0)*w), num(barH), n)
			c0 = c1
		}
	}
	runs(&held, "hold agg")
	runs(&red, "hold red agg")
}

// holdTitle is the hover text of a hold bar.
func holdTitle(hd hold) string {
	s := fmt.Sprintf("key %s · p%d · %s–%s", hd.key, hd.process, fmtNs(hd.start), fmtNs(hd.end))
	if hd.token != nil {
		s += fmt.Sprintf(" · token %d", *hd.token)
	}
	if hd.open {
		s += " · never released"
	}
	if hd.red {
		s += " · OVERLAPS another holder"
	}
	return s
}

// procList names the processes of a lane.
func procList(ps []int) string {
	var sb strings.Builder
	sb.WriteString("process")
	if len(ps) > 1 {
		sb.WriteString("es")
	}
	for i, p := range ps {
		if i == 20 {
			fmt.Fprintf(&sb, " … (%d in all)", len(ps))
			break
		}
		fmt.Fprintf(&sb, " p%d", p)
	}
	return sb.String()
}

// drawOverlaps paints the intersections of overlapping holds in strong red
// on both lanes and joins them with a line.
func (d *runData) drawOverlaps(b *svgBuf, v view, laneOf map[int]int, laneY func(int) float64, barH float64, x func(int64) float64) {
	drawn := map[[3]int]bool{}
	n := 0
	for _, o := range d.overlaps {
		if o.end < v.t0 || o.start > v.t1 || n >= maxOverlapD {
			continue
		}
		ha, hb := d.holds[o.a], d.holds[o.b]
		la, oka := laneOf[ha.process]
		lb, okb := laneOf[hb.process]
		if !oka || !okb {
			continue
		}
		xa, xb := x(max(o.start, v.t0)), x(min(o.end, v.t1))
		k := [3]int{la, lb, int(xa)}
		if drawn[k] {
			continue
		}
		drawn[k] = true
		n++
		title := esc(fmt.Sprintf("overlap on key %s: p%d and p%d both hold it %s–%s",
			o.key, ha.process, hb.process, fmtNs(o.start), fmtNs(o.end)))
		b.f(`<g class="overlap">`)
		for _, l := range []int{la, lb} {
			y := laneY(l) + (v.laneH-barH)/2 - 1
			b.f(`<rect x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
				num(xa), num(y), num(max(xb-xa, 1.5)), num(barH+2), title)
		}
		if la != lb {
			ya, yb := laneY(la)+v.laneH/2, laneY(lb)+v.laneH/2
			b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(xa), num(xa), num(ya), num(yb))
		}
		b.f(`</g>`)
	}
}
