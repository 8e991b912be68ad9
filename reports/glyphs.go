package reports

import (
	"fmt"

	"github.com/lockstorm/lockstorm/history"
)

// A glyph marks a failed (×) or indeterminate (?) op on a lane.
type glyph struct {
	t     int64
	info  bool
	title string
}

// glyphsIn collects the failed and indeterminate ops of a view per lane.
func (d *runData) glyphsIn(v view, laneOf map[int]int) [][]glyph {
	out := make([][]glyph, len(v.lanes))
	for _, pr := range d.pairs {
		if pr.done.Type != history.Fail && pr.done.Type != history.Info {
			continue
		}
		l, ok := laneOf[pr.inv.Process]
		if !ok {
			continue
		}
		t := pr.done.Time
		if pr.done.Type == history.Info {
			t = pr.inv.Time // it may have taken effect at any moment after this
		}
		if t < v.t0 || t > v.t1 {
			continue
		}
		out[l] = append(out[l], glyph{t: t, info: pr.done.Type == history.Info, title: glyphTitle(pr)})
	}
	return out
}

func glyphTitle(pr pair) string {
	what := "failed"
	if pr.done.Type == history.Info {
		what = "indeterminate"
	}
	s := fmt.Sprintf("p%d %s %s %s at %s", pr.inv.Process, pr.inv.F, pr.inv.Key, what, fmtNs(pr.done.Time))
	if pr.noDone {
		s = fmt.Sprintf("p%d %s %s never completed (invoked at %s)", pr.inv.Process, pr.inv.F, pr.inv.Key, fmtNs(pr.inv.Time))
	}
	if pr.done.Error != "" {
		s += ": " + clip(pr.done.Error, 200)
	}
	return s
}

// drawGlyphs draws a lane's marks, one per op when few, else one per
// column with a count.
func (d *runData) drawGlyphs(b *svgBuf, gs []glyph, v view, y float64) {
	span := float64(v.t1 - v.t0)
	x := func(t int64) float64 { return tlLabelW + float64(t-v.t0)/span*tlPlotW }
	cy := y + v.laneH/2
	r := min(v.laneH*0.28, 4)
	put := func(g glyph, title string) {
		if g.info {
			b.f(`<text class="glyph info" x="%s" y="%s">?<title>%s</title></text>`, num(x(g.t)), num(cy+r+1), esc(title))
			return
		}
		px := x(g.t)
		b.f(`<path class="glyph fail" d="M%s %sl%s %sm0 -%sl-%s %s"><title>%s</title></path>`,
			num(px-r), num(cy-r), num(2*r), num(2*r), num(2*r), num(2*r), num(2*r), esc(title))
	}
	if len(gs) <= exactGlyphs/max(len(v.lanes), 1) {
		for _, g := range gs {
			put(g, g.title)
		}
		return
	}
	type cell struct {
		col  int
		info bool
	}
	counts := map[cell]int{}
	first := map[cell]glyph{}
	var order []cell
	for _, g := range gs {
		c := cell{int(float64(g.t-v.t0) / span * buckets / 2), g.info}
		if _, ok := counts[c]; !ok {
			order = append(order, c)
			first[c] = g
		}
		counts[c]++
	}
	for _, c := range order {
		what := "failed"
		if c.info {
			what = "indeterminate"
		}
		put(first[c], fmt.Sprintf("%d %s ops around %s", counts[c], what, fmtNs(first[c].t)))
	}
}
