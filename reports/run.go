// Package reports renders what people read: a run's index.html with its
// verdict, anomalies, timeline and plots; a campaign's matrix; the
// linearizability page; and a read-only HTTP browser over a store.
//
// Every page is self-contained: styles and scripts are embedded, nothing is
// fetched from the network, and every value that comes from a history, a
// log, a config or a checker is escaped.
package reports

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// runPage is the data of the run template.
type runPage struct {
	Res         store.RunResult
	Class, Word string
	Meta        []kv
	Config      []kv
	Checkers    []checkerView
	Fencing     *fencingView
	Contention  *contentionView
	// StatsFigures, Stats and StatsSummary are the stats result's few
	// figures in words (statsFigures), its every figure raw, and its
	// summary: statistics of the history, shown apart from the checkers'
	// verdicts. The summary is shown only when there are no figures,
	// which say the same.
	StatsFigures []kv
	Stats        []kv
	StatsSummary string
	Schedule     []eventView
	Legend       []legendItem
	Overview     template.HTML
	Lanes        int
	Incidents    incidentsView
	Focus        []focusView
	Latency      template.HTML
	Throughput   template.HTML
	BucketWord   string
	HasHistory   bool
	// NoFaults says why no fault struck when nemeses were asked for
	// (store.NoFaults); Nemeses names them.
	NoFaults, Nemeses string
	// Setup is when the timeline and plots start, on the run's clock,
	// when they leave out the setup before the workload; "" when they
	// start at 0.
	Setup string
	// Replaced says why the timeline's process numbers jump
	// (replacedNote); "" when none was replaced.
	Replaced string
	// Judged tells, for a run judged by some checkers only
	// (Plan.Judge), what decided and what the others found.
	Judged *judgedView
	// Shrunk is the run's shrunk schedule (WriteRunShrunk); nil when the
	// run was never shrunk.
	Shrunk *shrunkView
	// Phases says where the run's time went (phasesLine); Stopped says
	// that its workload was stopped early after a violation.
	Phases, Stopped string
	Common
}

// A judgedView is the banner's account of a run judged by some checkers
// only: by which (By), whether fencing kept the data safe (Safe), and the
// verdict over all checkers with the checkers that found the history
// invalid but do not decide (Others).
type judgedView struct {
	By, Safe, AllWord, AllClass string
	Others                      []string
}

// judged builds the judgedView of a run whose plan names checkers to
// judge by; nil when it names none.
func judged(res store.RunResult) *judgedView {
	if len(res.Plan.Judge) == 0 {
		return nil
	}
	all := res.AllCheckers
	if all == "" {
		all = checker.Judge(res.Results, checker.Rules{BrokeOff: res.Error}).Status
	}
	j := &judgedView{By: strings.Join(res.Plan.Judge, ", "), AllWord: statusWord(all), AllClass: statusClass(all)}
	for _, r := range res.Results {
		if r.Status == checker.Invalid && !r.Skipped && !slices.Contains(res.Plan.Judge, r.Checker) {
			j.Others = append(j.Others, r.Checker)
		}
		if r.Checker == checker.NameFencing && slices.Contains(res.Plan.Judge, r.Checker) && r.Status == checker.Valid && !r.Skipped {
			if f := fencing(r); f != nil && f.Accepted == 0 && f.Rejected > 0 {
				j.Safe = fmt.Sprintf("The data stayed safe: fencing refused every stale write (%d).", f.Rejected)
			} else {
				j.Safe = "The data stayed safe: no stale write reached it."
			}
		}
	}
	return j
}

// A checkerView is one checker's result on the page. Measure marks a
// result that only measures (stats, contention; checker.Measures): it
// decides no verdict, so it wears no verdict badge.
type checkerView struct {
	Name, Class, Word, Summary string
	Millis                     int64
	Details                    []kv
	Measure                    bool
}

type fencingView struct {
	Rejected, Accepted int64
	Other              []kv
}

// An eventView is one row of the fault table: Start and End are the
// times (on the timeline's clock) at which the fault struck and was
// healed; Planned, for an event that never struck, says when it was due.
type eventView struct {
	Nemesis, Mode, Targets, Start, Duration, End, Params, Planned string
	Colour                                                        template.CSS
}

type legendItem struct {
	Name   string
	Colour template.CSS
}

type focusView struct {
	ID, Anchor, Kind, Key, Window string
	N                             int
	SVG                           template.HTML
}

// WriteRun writes a run's index.html: the verdict, every checker's result,
// the incidents (the first few told in full, each with a focus window of
// the timeline, the rest folded into a list), the fencing counts, the
// contention workload's throughput by clients, the timeline, latency and
// throughput plots, the fault schedule, stats, notes and the command that
// reproduces the run. h may be empty when the history could not be read;
// the page then says so.
func WriteRun(w io.Writer, res store.RunResult, h history.History) error {
	if err := writePage(w, "run.html", buildRun(res, h)); err != nil {
		return fmt.Errorf("run page: %w", err)
	}
	return nil
}

func buildRun(res store.RunResult, h history.History) *runPage {
	p := &runPage{Res: res, Class: statusClass(res.Status), Word: statusWord(res.Status), Common: common()}
	if p.Judged = judged(res); p.Judged != nil {
		p.Word += " by " + p.Judged.By
	}
	p.Meta = []kv{{"cell", res.Cell}, {"run", res.ID}, {"seed", fmt.Sprint(res.Plan.Seed)}, {"ops", fmt.Sprint(res.Ops)}}
	if of := res.Campaign; of != nil && of.Cell != "" {
		// The store directory is shared by cells that differ in other
		// settings (plain and fenced): the campaign cell tells them apart.
		p.Meta[0] = kv{"cell", of.Cell}
		p.Meta = slices.Insert(p.Meta, 1, kv{"directory", res.Cell})
	}
	if !res.Started.IsZero() {
		p.Meta = append(p.Meta, kv{"started", res.Started.UTC().Format(time.RFC3339)})
	}
	if res.Duration > 0 {
		p.Meta = append(p.Meta, kv{"duration", res.Duration.Round(time.Millisecond).String()})
	}
	p.Config = planRows(&res.Plan)
	p.Phases, p.Stopped = phasesLine(res.Phases), stoppedEarly(res)
	p.NoFaults, p.Nemeses = noFaults(res, h), strings.Join(res.Plan.Nemeses, ", ")
	var markers []marker
	p.Incidents, markers = buildIncidents(res, len(h) > 0)
	if p.Incidents.NotListed > 0 && len(h) > 0 {
		p.Incidents.All = allIncidents(h)
	}
	if res.Status == checker.Invalid || p.Incidents.Count > 0 {
		p.Meta = append(p.Meta, kv{"incidents", p.Incidents.Heading()})
	}
	if res.FirstViolation >= 0 && res.Status == checker.Invalid {
		first := fmtNs(res.FirstViolation)
		if res.WorkloadStart > 0 {
			first += " (" + fmtNs(store.TimeToViolation(res.FirstViolation, res.WorkloadStart)) + " into the workload)"
		}
		p.Meta = append(p.Meta, kv{"first violation", first})
	}

	for _, r := range res.Results {
		cv := checkerView{Name: r.Checker, Class: statusClass(r.Status), Word: statusWord(r.Status),
			Summary: r.Summary, Millis: r.Millis}
		if r.Skipped {
			cv.Class, cv.Word = "skipped", "Not checked"
		}
		cv.Measure = checker.Measures(r.Checker)
		if cv.Measure {
			cv.Class, cv.Word = "measure", ""
		}
		switch r.Checker {
		case checker.NameStats:
			// Counts, not a verdict: shown apart from the checkers.
			p.StatsFigures, p.Stats, p.StatsSummary = statsFigures(r.Details), detailRows(r.Details), r.Summary
			continue
		case checker.NameFencing:
			p.Fencing = fencing(r)
			cv.Details = detailRows(r.Details)
		case checker.NameContention:
			if d, ok := contentionDetails(r); ok && p.Contention == nil {
				p.Contention = buildContention(d, "contention-plot")
			}
			cv.Details = detailRows(r.Details)
		default:
			cv.Details = detailRows(r.Details)
		}
		p.Checkers = append(p.Checkers, cv)
	}

	d := derive(h)
	colours := faultColours(d.faults)
	for _, e := range res.Plan.Schedule.Events {
		if _, ok := colours[e.Nemesis]; !ok {
			colours[e.Nemesis] = palette[len(colours)%len(palette)]
		}
	}
	p.Schedule = scheduleRows(res, h, colours)
	names := make([]string, 0, len(colours))
	for n := range colours {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.Legend = append(p.Legend, legendItem{Name: n, Colour: template.CSS("background:" + colours[n])})
	}

	if len(h) == 0 {
		return p
	}
	p.HasHistory = true
	for _, m := range markers {
		d.end = max(d.end, m.end)
	}
	d.start = drawFrom(res.WorkloadStart, h)
	if d.start > 0 {
		p.Setup = fmtNs(d.start)
	}
	ov := view{id: "timeline-overview", t0: d.start, t1: d.end, lanes: d.overviewLanes()}
	switch n := len(ov.lanes); {
	case n <= 8:
		ov.laneH = 26
	case n <= 16:
		ov.laneH = 20
	default:
		ov.laneH = 14
	}
	if len(markers) > maxMarkers {
		ov.markers = markers[:maxMarkers]
	} else {
		ov.markers = markers
	}
	p.Lanes = len(ov.lanes)
	p.Replaced = replacedNote(d.processes, res.Plan.Concurrency, res.Plan.Workload)
	p.Overview = d.draw(ov, colours).html()
	for i, m := range markers {
		if i >= maxFocus {
			break
		}
		id := fmt.Sprintf("focus-%d", m.n)
		fv := d.focusView(id+"-svg", m)
		p.Focus = append(p.Focus, focusView{ID: id, Anchor: fmt.Sprintf("incident-%d", m.n), N: m.n,
			Kind: m.kind, Key: m.key, Window: fmt.Sprintf("%s – %s", fmtNs(fv.t0), fmtNs(fv.t1)), SVG: d.draw(fv, colours).html()})
	}
	p.Latency = d.latencyPlot(colours).html()
	tp, bw := d.throughputPlot(colours)
	p.Throughput = tp.html()
	p.BucketWord = time.Duration(bw).String()
	return p
}

// drawFrom is where the overview timeline and the plots start: the
// workload's start, leaving out the setup of the cluster, the service and
// the clients, during which nothing is recorded; or the first op, should
// one have come before it. It is 0 for a result that did not record the
// workload's start.
func drawFrom(workloadStart int64, h history.History) int64 {
	if workloadStart <= 0 || len(h) == 0 {
		return 0
	}
	first := h[0].Time
	for _, o := range h {
		first = min(first, o.Time)
	}
	return max(min(workloadStart, first), 0)
}

// noFaults is why no fault struck in the run: what the harness recorded,
// or, for a result written before it was, the same rule applied here.
func noFaults(res store.RunResult, h history.History) string {
	if res.NoFaults != "" {
		return res.NoFaults
	}
	struck := -1
	if len(h) > 0 {
		struck = checker.FaultsStruck(h)
	}
	return store.NoFaults(&res, struck)
}

// fencing reads the stale-write counts of the fencing checker.
func fencing(r checker.Result) *fencingView {
	f := &fencingView{}
	f.Rejected, _ = detailInt(r.Details, "stale_rejected")
	f.Accepted, _ = detailInt(r.Details, "stale_accepted")
	for _, row := range detailRows(r.Details) {
		if row.K != "stale rejected" && row.K != "stale accepted" {
			f.Other = append(f.Other, row)
		}
	}
	return f
}

// planRows shows the resolved plan: what the run used, the lease the
// servers granted next to the one asked for.
func planRows(c *plan.Plan) []kv {
	hold := c.Hold.String()
	switch {
	case c.Hold < 0:
		hold = "auto" // the run ended before its plan was resolved
	case c.HoldAuto:
		hold += " (auto, from the lease)"
	}
	lease := c.Lease.String()
	if c.Lease == 0 {
		lease = "none: grants do not expire"
	}
	client := c.Client
	if client == "" {
		client = plan.ClientGo
	}
	workload := c.Workload
	if c.Variant != "" {
		workload += " (" + c.Variant + ")"
	}
	rows := []kv{
		{"target", c.Target}, {"client", client}, {"workload", workload}, {"nemeses", strings.Join(c.Nemeses, ", ")},
		{"seed", fmt.Sprint(c.Seed)}, {"time limit", c.TimeLimit.String()},
		{"concurrency", fmt.Sprint(c.Concurrency)}, {"rate", fmt.Sprintf("%g ops/s", c.Rate)},
		{"nemesis interval", c.NemesisInterval.String()}, {"nodes", fmt.Sprint(len(c.Nodes))},
		{"ttl asked", c.TTL.String()}, {"lease granted", lease}, {"hold", hold},
		{"wait", c.Wait.String()}, {"op timeout", c.OpTimeout.String()}, {"keys", fmt.Sprint(c.Keys)},
		{"fencing", fmt.Sprint(c.Fencing)},
	}
	if len(c.Judge) > 0 {
		rows = append(rows, kv{"judged by", strings.Join(c.Judge, ", ")})
	}
	if c.StopAfterViolation > 0 {
		rows = append(rows, kv{"stop after violation", c.StopAfterViolation.String()})
	}
	opts := make([]string, 0, len(c.Options))
	for k := range c.Options {
		opts = append(opts, k)
	}
	sort.Strings(opts)
	for _, k := range opts {
		rows = append(rows, kv{k, c.Options[k]})
	}
	return rows
}

func procNames(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprintf("p%d", p)
	}
	return strings.Join(s, ", ")
}

func opList(ops []int) string {
	s := make([]string, 0, len(ops))
	for i, o := range ops {
		if i == 12 {
			s = append(s, fmt.Sprintf("… (%d in all)", len(ops)))
			break
		}
		s = append(s, fmt.Sprintf("#%d", o))
	}
	return strings.Join(s, " ")
}
