package campaign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/margin"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/reports"
	"github.com/lockstorm/lockstorm/store"
)

// DefaultMarginSeeds is how many runs a margin cell makes at each value
// tried, unless its margin: says seeds:, as for lockstorm margin.
const DefaultMarginSeeds = 5

// A MarginSpec asks a cell for a margin instead of runs: the duration
// option of the cell's nemesis to vary over FROM..TO, as lockstorm
// margin's --vary, the runs at each value (seeds, seeds S, S+1, ...
// from the cell's first seed) and how finely to bisect.
//
//	margin: {vary: "client-pause.stall=200ms..3s", seeds: 3}
type MarginSpec struct {
	Vary      string
	Seeds     int
	Precision time.Duration
	line      int
	// vary is Vary parsed.
	vary margin.Vary
}

// UnmarshalYAML reads the margin: mapping, refusing unknown keys and bad
// values with their lines.
func (m *MarginSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: margin: want a mapping such as {vary: \"client-pause.stall=200ms..3s\", seeds: 3}", n.Line)
	}
	m.line = n.Line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "vary":
			vr, err := margin.ParseVary(v.Value)
			if err != nil {
				return fmt.Errorf("line %d: margin: vary: %s", v.Line, strings.TrimPrefix(err.Error(), "--vary "))
			}
			m.Vary, m.vary = v.Value, vr
		case "seeds":
			s, err := strconv.Atoi(v.Value)
			if err != nil || s < 1 || s > MaxSeeds {
				return fmt.Errorf("line %d: margin: seeds: %q must be a number of runs at each value, 1..%d", v.Line, v.Value, MaxSeeds)
			}
			m.Seeds = s
		case "precision":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return fmt.Errorf("line %d: margin: precision: %q is not a positive duration like 100ms", v.Line, v.Value)
			}
			m.Precision = d
		default:
			return fmt.Errorf("line %d: margin: unknown field %q (it takes vary, seeds and precision; see docs/campaigns.md)", k.Line, k.Value)
		}
	}
	if m.Vary == "" {
		return fmt.Errorf("line %d: margin: vary is missing: OPTION=FROM..TO, such as client-pause.stall=200ms..3s", n.Line)
	}
	if m.Seeds == 0 {
		m.Seeds = DefaultMarginSeeds
	}
	return nil
}

// checkMargin checks a margin cell as lockstorm margin checks its flags:
// a nemesis that has the option, values it takes, an option not set in
// options: too, and no expectation (a margin measures).
func checkMargin(c Cell) error {
	m := c.Margin
	if m == nil {
		return nil
	}
	switch {
	case c.Expect != store.ExpectExplore:
		return fmt.Errorf("expect: %s: a margin cell measures, it expects nothing; leave expect out or write explore", c.Expect)
	case len(c.Nemeses) == 0:
		return errors.New("a margin varies a fault of the run; give the cell a nemesis")
	case len(c.Speedup) > 0:
		return errors.New("speedup: a margin cell does not sweep")
	}
	if _, ok := c.Plan.Options[m.vary.Option]; ok {
		return fmt.Errorf("vary %s: also set in options; give it once", m.vary.Option)
	}
	if err := harness.CheckVary(c.Plan, m.vary.Option, m.vary.From, m.vary.To); err != nil {
		return fmt.Errorf("vary %s: %w", m.Vary, err)
	}
	for _, d := range []time.Duration{m.vary.From, m.vary.To} {
		if _, err := harness.Resolve(marginPlan(c, d, marginSeeds(c)[0])); err != nil {
			return fmt.Errorf("vary %s: at %s: %s", m.Vary, option.FormatDuration(d), harness.Reason(err))
		}
	}
	return (margin.Config{From: m.vary.From, To: m.vary.To, Precision: m.Precision}).Validate()
}

// marginSeeds are the seeds run at every value: K from the cell's first.
func marginSeeds(c Cell) []int64 {
	first := int64(1)
	if len(c.Seeds) > 0 {
		first = c.Seeds[0]
	}
	seeds := make([]int64, c.Margin.Seeds)
	for i := range seeds {
		seeds[i] = first + int64(i)
	}
	return seeds
}

// marginPlan is the cell's plan with the varied option at value.
func marginPlan(c Cell, value time.Duration, seed int64) plan.Plan {
	p := c.Plan
	p.Options = option.Values{}
	for k, v := range c.Plan.Options {
		p.Options[k] = v
	}
	p.Options[c.Margin.vary.Option] = option.FormatDuration(value)
	p.Seed = seed
	return p
}

// runMarginCell runs the margin of cell c, as lockstorm margin does, into
// store/margins/<target>-<option>/<timestamp>/ (its results.json, its
// page, its runs under runs/), and returns the cell's result: every run,
// the margin found, and an outcome that says it. A margin cell is
// explored: its expectation is met whatever the margin.
func runMarginCell(ctx context.Context, c Cell, campaignID string, opts Options) (store.CellResult, error) {
	cr := newCellResult(c)
	m := c.Margin
	seeds := marginSeeds(c)
	began := time.Now()
	dir, _, err := store.NewRunDir(filepath.Join(opts.StoreDir, store.MarginsDir), c.Target+"-"+m.vary.Option, began)
	if err != nil {
		return cr, err
	}
	runs := filepath.Join(dir, "runs")
	mr := store.MarginResult{
		Command: harness.MarginCommand(marginPlan(c, m.vary.From, seeds[0]), m.vary.Option, m.vary.String(), m.Seeds),
		Target:  c.Target, Nemeses: c.Nemeses, Seeds: seeds,
		Vary: store.MarginVary{Option: m.vary.Option, From: m.vary.From, To: m.vary.To},
		Plan: marginPlan(c, m.vary.From, seeds[0]), Started: began,
	}
	trials := map[time.Duration][]store.Trial{}
	var errs []error
	oracle := func(ctx context.Context, value time.Duration) (int, int, error) {
		broke := 0
		for k, seed := range seeds {
			cfg := harness.Config{Plan: marginPlan(c, value, seed), Runtime: opts.Runtime, StoreDir: runs, ClientBinary: opts.ClientBinary}
			cfg.Labels = map[string]string{"lockstorm.campaign": campaignID}
			if opts.Progress != nil {
				opts.Progress.CellStart(c, len(cr.Runs)+1, len(cr.Runs)+len(seeds)-k)
				cfg.Phase = func(p string) { opts.Progress.Phase(c, p) }
				cfg.Console = opts.Progress.Log()
			}
			rr, err := harness.Execute(ctx, cfg)
			if rr.ID != "" {
				t := store.Trial{Seed: seed, Dir: filepath.Join(runs, rr.Cell, rr.ID), Status: rr.Status}
				trials[value] = append(trials[value], t)
				rel, _ := filepath.Rel(opts.StoreDir, t.Dir)
				cr.Runs = append(cr.Runs, store.CellRun{Dir: rel, Seed: seed, Status: rr.Status, Summary: rr.Summary,
					FirstViolation: rr.FirstViolation, WorkloadStart: rr.WorkloadStart, Ops: rr.Ops,
					Indeterminate: indeterminate(rr), Duration: rr.Duration, Error: rr.Error, ServerVersion: rr.ServerVersion,
					Interrupted: interruptedBySignal(ctx, err), NoFaults: rr.NoFaults})
				if mr.Lease == 0 {
					mr.Lease = rr.Plan.Lease
				}
				if opts.Progress != nil {
					opts.Progress.CellDone(c, rr)
				}
			}
			if err == nil && rr.Leftover != nil {
				err = fmt.Errorf("teardown: %s", rr.Leftover.Error)
			}
			if err == nil && rr.Error != "" {
				err = errors.New(rr.Error) // a run that broke off is no answer
			}
			if err != nil {
				return 0, 0, fmt.Errorf("%s=%s seed %d: %w", m.vary.Option, option.FormatDuration(value), seed, err)
			}
			if rr.Status == checker.Invalid {
				broke++
			}
		}
		return broke, len(seeds), nil
	}
	res, serr := margin.Search(ctx, oracle, margin.Config{From: m.vary.From, To: m.vary.To, Precision: m.Precision})
	mr.Margin = MarginFound(res, trials)
	if serr != nil {
		mr.Error = serr.Error()
		errs = append(errs, fmt.Errorf("cell %s: margin: %w", c.Name, serr))
		if cr.Infrastructure == "" && ctx.Err() == nil {
			cr.Infrastructure = serr.Error()
		}
	}
	if err := WriteMargin(dir, mr); err != nil {
		errs = append(errs, err)
	}
	rel, _ := filepath.Rel(opts.StoreDir, dir)
	cr.Margin = &store.CellMargin{Dir: filepath.ToSlash(rel), Option: m.vary.Option, From: m.vary.From, To: m.vary.To,
		Outcome: mr.Margin.Outcome, Holds: mr.Margin.Holds, Breaks: mr.Margin.Breaks, Lease: mr.Lease, Error: mr.Error}
	Summarize(&cr)
	return cr, errors.Join(errs...)
}

// MarginFound is what a margin search found, each step with its runs:
// the margin of a campaign cell and of `lockstorm margin` alike.
func MarginFound(res margin.Result, trials map[time.Duration][]store.Trial) store.MarginFound {
	f := store.MarginFound{Outcome: res.Outcome, Holds: res.Holds, Breaks: res.Breaks}
	for _, st := range res.Steps {
		f.Steps = append(f.Steps, store.MarginStep{Value: st.Value, Violations: st.Violations, Runs: st.Runs,
			Rate: st.Rate(), Trials: trials[st.Value]})
	}
	return f
}

// WriteMargin writes a margin's results.json and its page into dir.
func WriteMargin(dir string, mr store.MarginResult) error {
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), mr); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reports.WriteMargin(&buf, mr); err != nil {
		return fmt.Errorf("render margin page: %w", err)
	}
	if err := store.WriteFile(filepath.Join(dir, store.IndexFile), buf.Bytes()); err != nil {
		return fmt.Errorf("write margin page: %w", err)
	}
	return nil
}
