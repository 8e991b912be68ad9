package reports

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// The outcomes of a margin search (margin.Found, ...), as results.json
// records them. reports does not import margin: these are the words of
// the file.
const (
	marginFound      = "found"
	marginAboveRange = "above-range"
	marginBelowRange = "below-range"
	marginNoHold     = "no-hold"
	marginNoBreak    = "no-break"
)

// marginPage is the data of the margin template.
type marginPage struct {
	M           store.MarginResult
	Class, Word string
	Title       string
	// Sentence says what was found, or why no boundary was, and the lease.
	Sentence string
	Meta     []kv
	Plot     template.HTML
	Steps    []marginRow
	Common
}

// A marginRow is one step of the table, in the order of the values.
type marginRow struct {
	Value, Rate, Mark string
	Violations, Runs  int
	Class             string
	Links             []runLink
}

// WriteMargin writes a margin's index.html: one sentence with the largest
// value that held and the smallest that broke every run (or why the range
// has none) and the lease; a plot of the violation rate against the value
// with every step labelled violations/runs, the lease and both bounds
// marked; and a table of the steps linking each run's page. The page lives
// beside the margin's results.json, so the runs, under runs/, are linked
// relatively.
func WriteMargin(w io.Writer, m store.MarginResult) error {
	if err := writePage(w, "margin.html", buildMargin(m)); err != nil {
		return fmt.Errorf("margin page: %w", err)
	}
	return nil
}

func buildMargin(m store.MarginResult) *marginPage {
	p := &marginPage{M: m, Common: common()}
	p.Title = fmt.Sprintf("Margin of %s against %s", m.Target, m.Vary.Option)
	switch m.Margin.Outcome {
	case marginFound:
		p.Class, p.Word = "valid", "Margin found"
	default:
		p.Class, p.Word = "unknown", "No boundary in range"
	}
	if m.Error != "" {
		p.Class, p.Word = "unknown", "Search stopped"
	}
	p.Sentence = marginSentence(m)
	p.Meta = []kv{{"target", m.Target}, {"nemeses", strings.Join(m.Nemeses, ", ")},
		{"varied", fmt.Sprintf("%s from %s to %s", m.Vary.Option, secs(m.Vary.From), secs(m.Vary.To))},
		{"runs per value", strconv.Itoa(len(m.Seeds))}, {"values tried", strconv.Itoa(len(m.Margin.Steps))}}
	if !m.Started.IsZero() {
		p.Meta = append(p.Meta, kv{"started", m.Started.UTC().Format(time.RFC3339)})
	}
	steps := slices.Clone(m.Margin.Steps)
	slices.SortStableFunc(steps, func(a, b store.MarginStep) int { return int(a.Value - b.Value) })
	for _, st := range steps {
		r := marginRow{Value: secs(st.Value), Violations: st.Violations, Runs: st.Runs, Rate: pct(stepRate(st))}
		switch {
		case st.Violations == 0:
			r.Class = "valid"
		case st.Violations == st.Runs:
			r.Class = "invalid"
		default:
			r.Class = "unknown"
		}
		if m.Margin.Holds != nil && *m.Margin.Holds == st.Value {
			r.Mark = "holds"
		}
		if m.Margin.Breaks != nil && *m.Margin.Breaks == st.Value {
			r.Mark = "breaks"
		}
		for _, t := range st.Trials {
			r.Links = append(r.Links, runLink{Label: fmt.Sprintf("seed %d %s", t.Seed, statusWord(t.Status)),
				Class: statusClass(t.Status), Href: trialHref(t.Dir)})
		}
		p.Steps = append(p.Steps, r)
	}
	p.Plot = marginPlot(m, steps).html()
	return p
}

// stepRate is the step's violation rate, from its counts.
func stepRate(st store.MarginStep) float64 {
	if st.Runs == 0 {
		return 0
	}
	return float64(st.Violations) / float64(st.Runs)
}

// trialHref links a run of the margin from its page: the run directory is
// <margin>/runs/<cell>/<id>, so the link is runs/<cell>/<id>/ whatever
// the directory the margin was started from.
func trialHref(dir string) template.URL {
	if dir == "" {
		return ""
	}
	id, cell := filepath.Base(dir), filepath.Base(filepath.Dir(dir))
	return template.URL("runs/" + escapeSeg(cell) + "/" + escapeSeg(id) + "/")
}

// leaseName is what the margin is read against: the lease the servers
// granted, which ZooKeeper calls its session timeout.
func leaseName(target string) string {
	if target == "zookeeper" {
		return "session timeout"
	}
	return "lease"
}

// magnitude is the word for what the option measures: the part of its
// name after the nemesis ("stall" for client-pause.stall).
func magnitude(option string) string {
	if _, after, ok := strings.Cut(option, "."); ok {
		return after
	}
	return option
}

// marginSentence says in one sentence what the search found: "It held
// every run up to 0.9 s of stall and broke every run from 1.1 s; the
// lease is 1 s.", or why the range has no boundary.
func marginSentence(m store.MarginResult) string {
	what, v := magnitude(m.Vary.Option), m.Vary
	var s string
	switch o := m.Margin; o.Outcome {
	case marginFound:
		if o.Holds != nil && o.Breaks != nil {
			s = fmt.Sprintf("It held every run up to %s of %s and broke every run from %s", secs(*o.Holds), what, secs(*o.Breaks))
		}
	case marginAboveRange:
		s = fmt.Sprintf("It held every run up to %s of %s, the top of the range: the margin is above the range", secs(v.To), what)
	case marginBelowRange:
		s = fmt.Sprintf("It broke every run at %s of %s already, the bottom of the range: the margin is below the range", secs(v.From), what)
	case marginNoHold:
		s = fmt.Sprintf("Some runs broke at %s of %s already, the bottom of the range, so no value in it held", secs(v.From), what)
		if o.Breaks != nil {
			s += fmt.Sprintf("; every run broke from %s", secs(*o.Breaks))
		}
	case marginNoBreak:
		s = fmt.Sprintf("Some runs held at %s of %s, the top of the range, so no value in it broke every run", secs(v.To), what)
		if o.Holds != nil {
			s += fmt.Sprintf("; every run held up to %s", secs(*o.Holds))
		}
	}
	if s == "" {
		s = fmt.Sprintf("The search found no boundary (outcome %q)", m.Margin.Outcome)
	}
	if m.Error != "" {
		s = "The search stopped before it ended: " + m.Error + ". " + s
	}
	if m.Lease > 0 {
		s += fmt.Sprintf("; the %s is %s", leaseName(m.Target), secs(m.Lease))
	}
	return s + "."
}

// secs writes a duration as people read a margin: "0.9 s", "1 s",
// "1.25 s", "50 ms".
func secs(d time.Duration) string {
	if d != 0 && d.Abs() < 100*time.Millisecond {
		return strconv.FormatFloat(float64(d.Round(time.Microsecond))/1e6, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(float64(d.Round(time.Millisecond))/1e9, 'f', -1, 64) + " s"
}

// marginPlot draws the violation rate (0..1) against the value, a point
// per step labelled violations/runs joined in the order of the values,
// with the lease and the two bounds as vertical lines.
func marginPlot(m store.MarginResult, steps []store.MarginStep) *svgBuf {
	b := &svgBuf{}
	lo, hi := m.Vary.From, m.Vary.To
	if m.Lease > 0 {
		lo, hi = min(lo, m.Lease), max(hi, m.Lease)
	}
	for _, st := range steps {
		lo, hi = min(lo, st.Value), max(hi, st.Value)
	}
	if hi <= lo {
		hi = lo + time.Second
	}
	// A margin either side, so that points at the ends do not sit on the
	// frame.
	pad := (hi - lo) / 20
	lo, hi = max(lo-pad, 0), hi+pad
	const top = plTop + 24 // room for the lines' labels, in two rows
	xOf := func(d time.Duration) float64 { return plLeft + float64(d-lo)/float64(hi-lo)*plW }
	yOf := func(r float64) float64 { return top + plH - r*plH }
	b.f(`<svg id="margin-plot" class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="violation rate against %s">`,
		num(plLeft+plW+10), num(top+plH+plBottom+14), esc(m.Vary.Option))
	timeAxis(b, int64(lo), int64(hi), plLeft, plW, top, top+plH)
	b.f(`<g class="axis y">`)
	for _, r := range []float64{0, 0.25, 0.5, 0.75, 1} {
		b.f(`<line x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(plLeft), num(plLeft+plW), num(yOf(r)), num(yOf(r)), num(plLeft-6), num(yOf(r)+4), esc(strconv.FormatFloat(r, 'f', -1, 64)))
	}
	b.f(`</g>`)
	b.f(`<text class="axis-title" x="%s" y="%s" text-anchor="middle" font-size="12" fill="#444">%s</text>`,
		num(plLeft+plW/2), num(top+plH+plBottom+10), esc(m.Vary.Option))
	b.f(`<text class="axis-title" x="12" y="%s" font-size="12" fill="#444" transform="rotate(-90 12 %s)" text-anchor="middle">violation rate</text>`,
		num(top+plH/2), num(top+plH/2))
	// The bounds are labelled on the row next to the plot, holds to the
	// left of its line and breaks to the right, so that close bounds do
	// not overwrite each other; the lease on the row above.
	mark := func(class string, d time.Duration, colour, dash, label, anchor string, dx, y float64) {
		x := xOf(d)
		b.f(`<g class="mark %s" data-value="%d"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.6"%s/><text x="%s" y="%s" font-size="12" fill="%s" text-anchor="%s">%s</text></g>`,
			class, int64(d), num(x), num(x), num(y+3), num(top+plH), colour, dash, num(x+dx), num(y), colour, anchor, esc(label))
	}
	if o := m.Margin; o.Holds != nil {
		mark("holds", *o.Holds, "#2e8b57", ` stroke-dasharray="5 4"`, "holds "+secs(*o.Holds), "end", -4, top-4)
	}
	if o := m.Margin; o.Breaks != nil {
		mark("breaks", *o.Breaks, "#c0392b", ` stroke-dasharray="5 4"`, "breaks "+secs(*o.Breaks), "start", 4, top-4)
	}
	if m.Lease > 0 {
		mark("lease", m.Lease, "#1d2330", "", leaseName(m.Target)+" "+secs(m.Lease), "middle", 0, top-18)
	}
	var line strings.Builder
	for _, st := range steps {
		fmt.Fprintf(&line, "%s,%s ", num(xOf(st.Value)), num(yOf(stepRate(st))))
	}
	if len(steps) > 1 {
		b.f(`<polyline class="rate" fill="none" stroke="#2f6fb0" stroke-width="1.4" points="%s"/>`, strings.TrimSpace(line.String()))
	}
	for _, st := range steps {
		x, y := xOf(st.Value), yOf(stepRate(st))
		ly := y - 9
		if ly < top+10 {
			ly = y + 18
		}
		b.f(`<g class="step" data-value="%d"><circle cx="%s" cy="%s" r="4.5" fill="#2f6fb0"><title>%s: %d of %d runs broke the lock</title></circle><text x="%s" y="%s" font-size="11" fill="#333" text-anchor="middle">%d/%d</text></g>`,
			int64(st.Value), num(x), num(y), esc(secs(st.Value)), st.Violations, st.Runs, num(x), num(ly), st.Violations, st.Runs)
	}
	b.f(`</svg>`)
	return b
}
