package reports

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
)

// esc escapes s for SVG/HTML text and attribute values. Every string that
// comes from a history, a config or a checker goes through it before it is
// written into hand-made SVG.
func esc(s string) string { return template.HTMLEscapeString(s) }

// svgBuf accumulates SVG markup. Numbers are formatted here; strings must be
// passed through esc by the caller (the helpers below do it).
type svgBuf struct {
	strings.Builder
	elems int
}

func (b *svgBuf) f(format string, args ...any) {
	b.elems++
	fmt.Fprintf(b, format, args...)
}

// num formats a coordinate with at most one decimal, to keep files small.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// html returns the markup as trusted HTML for the page templates. It is
// safe because every string inside was escaped when it was written.
func (b *svgBuf) html() template.HTML { return template.HTML(b.String()) }

// palette holds the fault colours, assigned to fault names in sorted order.
var palette = []string{
	"#f2c14e", // amber
	"#7fb3d5", // blue
	"#c39bd3", // purple
	"#82c9a5", // green
	"#f5a27a", // orange
	"#a3a8b8", // grey
	"#e8a0bf", // pink
	"#b5c96a", // olive
}

// faultColours maps every fault name in ws to a colour.
func faultColours(ws []faultWindow) map[string]string {
	names := map[string]bool{}
	for _, w := range ws {
		names[w.name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	m := map[string]string{}
	for i, n := range sorted {
		m[n] = palette[i%len(palette)]
	}
	return m
}

// niceStep returns a step of 1, 2 or 5 times a power of ten such that
// span/step is about n.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// fmtSeconds renders a time axis label in seconds.
func fmtSeconds(ns float64) string {
	s := ns / 1e9
	switch {
	case s == 0:
		return "0s"
	case math.Abs(s) >= 10 || s == math.Trunc(s):
		return strconv.FormatFloat(s, 'f', -1, 64) + "s"
	case math.Abs(s) >= 1:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	default:
		return strconv.FormatFloat(s*1000, 'f', -1, 64) + "ms"
	}
}

// timeAxis writes vertical grid lines and labels for [t0, t1] mapped to
// [x0, x0+w], between y0 and y1, labels below y1.
func timeAxis(b *svgBuf, t0, t1 int64, x0, w, y0, y1 float64) {
	span := float64(t1 - t0)
	if span <= 0 {
		return
	}
	step := niceStep(span, 10)
	first := math.Ceil(float64(t0)/step) * step
	b.f(`<g class="axis">`)
	for t := first; t <= float64(t1); t += step {
		x := x0 + (t-float64(t0))/span*w
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(x), num(y0), num(x), num(y1), num(x), num(y1+13), esc(fmtSeconds(t)))
	}
	b.f(`</g>`)
}

// shadeFaults writes one translucent band per fault window over [y0, y1].
// Windows narrower than a pixel are widened to one so that short faults
// still show.
func shadeFaults(b *svgBuf, ws []faultWindow, colours map[string]string, t0, t1 int64, x0, w, y0, y1 float64) {
	span := float64(t1 - t0)
	if span <= 0 {
		return
	}
	b.f(`<g class="faults">`)
	for _, fw := range ws {
		if fw.end < t0 || fw.start > t1 {
			continue
		}
		s, e := max(fw.start, t0), min(fw.end, t1)
		xa := x0 + float64(s-t0)/span*w
		xb := x0 + float64(e-t0)/span*w
		b.f(`<rect class="fault" data-fault="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
			esc(fw.name), num(xa), num(y0), num(max(xb-xa, 1)), num(y1-y0), colours[fw.name],
			esc(fmt.Sprintf("%s %s–%s %s", fw.name, fmtNs(fw.start), fmtNs(fw.end), clip(string(fw.value), 200))))
	}
	b.f(`</g>`)
}

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
