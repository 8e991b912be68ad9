package campaign

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// Exit codes of a campaign (DESIGN.md and docs/campaigns.md).
const (
	ExitMet       = 0 // every expectation met
	ExitViolated  = 1 // a safe cell found a violation
	ExitUnmet     = 2 // an unsafe cell did not reproduce, or a result is unknown
	ExitBadFile   = 3
	ExitInfraFail = 4
)

// Options say where and how a campaign runs.
type Options struct {
	StoreDir string
	// Runtime starts the nodes of the cells whose targets need
	// containers; the caller owns it.
	Runtime runtime.Runtime
	// ClientBinary is the lockstorm binary that runs the client processes
	// (harness.Config.ClientBinary).
	ClientBinary string
	// Parallel overrides the file's parallel setting when > 0.
	Parallel int
	// Progress is told about every cell's phases; nil for none.
	Progress Progress
	// Shard is "i/n" when only a slice of the cells runs.
	Shard string
}

// Progress receives what a live display or a log needs.
type Progress interface {
	Start(total int)
	CellStart(cell Cell, run, runs int)
	Phase(cell Cell, phase string)
	CellDone(cell Cell, res store.RunResult)
	Finish()
	// Log writes a line of the run's console output; nil-safe writers
	// may drop it.
	Log() io.Writer
}

// Run runs cells and writes the campaign directory: results.json,
// index.html and junit.xml under store/campaigns/<id>/. It returns the
// result, whose ExitCode says whether every expectation was met.
func Run(ctx context.Context, name string, cells []Cell, parallel int, opts Options) (store.CampaignResult, error) {
	began := time.Now()
	if opts.StoreDir == "" {
		opts.StoreDir = store.DefaultDir
	}
	if opts.Parallel > 0 {
		parallel = opts.Parallel
	}
	if parallel < 1 || runtime.SharesHosts(opts.Runtime) {
		parallel = 1 // runs on the user's hosts go one at a time
	}
	res := store.CampaignResult{Name: name, Started: began, Shard: opts.Shard}
	res.Cells = make([]store.CellResult, len(cells))
	total := 0
	for i, c := range cells {
		total += len(c.Seeds)
		// A cell that never runs (Ctrl-C) still appears, as not run.
		res.Cells[i] = newCellResult(c)
		Summarize(&res.Cells[i])
	}
	if opts.Progress != nil {
		opts.Progress.Start(total)
	}
	campaignID := began.UTC().Format(store.TimestampFormat)
	// dispatch ends when the engine stops answering: no cell starts after
	// that, and the runs still going stop, with the engine as the cause.
	dispatch, stopDispatch := context.WithCancelCause(ctx)
	defer stopDispatch(nil)
	// One worker takes the cells in file order, so that a campaign runs
	// (and its progress reads) top to bottom; several take the longest
	// first (dispatchOrder), so that no long cell starts last while the
	// other workers idle. The results keep the file's order either way.
	next := make(chan int)
	go func() {
		defer close(next)
		for _, i := range dispatchOrder(cells, parallel) {
			select {
			case next <- i:
			case <-dispatch.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var infraErrs []error
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cr, err := runCell(dispatch, cells[i], name, campaignID, opts)
				mu.Lock()
				res.Cells[i] = cr
				if err != nil && !interruptedBySignal(dispatch, err) {
					infraErrs = append(infraErrs, err)
				}
				if e, stuck := runtime.EngineStuck(err); stuck && res.Interrupted == "" {
					res.Interrupted = engineStopped(e)
					stopDispatch(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if opts.Progress != nil {
		opts.Progress.Finish()
	}
	res.Duration = time.Since(began)
	if res.Interrupted == "" && ctx.Err() != nil {
		res.Interrupted = "a signal (Ctrl-C) stopped the campaign before all its cells ran"
	}
	notRun(res.Cells, res.Interrupted)
	res.ExitCode = ExitCode(res.Cells, len(infraErrs) > 0)
	if res.ExitCode == ExitMet && res.Interrupted != "" {
		res.ExitCode = ExitUnmet // an interrupted campaign is undecided, as an interrupted run is unknown
	}
	dir, err := writeCampaign(opts.StoreDir, began, res)
	res.ID = filepath.Base(dir)
	if err != nil {
		return res, err
	}
	return res, errors.Join(infraErrs...)
}

// NotRun writes the campaign directory of cells that could not run at
// all, reason saying why (an engine that does not answer): every cell is
// "not run", the page's banner gives the reason, and the exit code is
// ExitInfraFail.
func NotRun(name string, cells []Cell, reason string, opts Options) (store.CampaignResult, error) {
	began := time.Now()
	if opts.StoreDir == "" {
		opts.StoreDir = store.DefaultDir
	}
	res := store.CampaignResult{Name: name, Started: began, Shard: opts.Shard, Interrupted: reason}
	res.Cells = make([]store.CellResult, len(cells))
	for i, c := range cells {
		res.Cells[i] = newCellResult(c)
	}
	notRun(res.Cells, reason)
	res.ExitCode = ExitInfraFail
	dir, err := writeCampaign(opts.StoreDir, began, res)
	res.ID = filepath.Base(dir)
	return res, err
}

// notRun marks the cells with no run as not run, for reason; each cell
// gets the reason without what to do about it (after "; "), which the
// campaign's banner says once.
func notRun(cells []store.CellResult, reason string) {
	brief, _, _ := strings.Cut(reason, "; ")
	for i := range cells {
		if len(cells[i].Runs) == 0 && reason != "" {
			cells[i].NotRun = "interrupted: " + brief
		}
		Summarize(&cells[i])
	}
}

// engineStopped says in words that the engine stopped answering at e.
func engineStopped(e *runtime.EngineError) string {
	return fmt.Sprintf("the container engine stopped answering (%s got no answer in %s), so no further cell was started; %s",
		e.Call, e.Waited, runtime.EngineAdvice)
}

// interruptedBySignal says whether err, a run's error under ctx, comes of
// the campaign's being cut short (a signal, or the caller's deadline),
// not of a failure of the infrastructure.
func interruptedBySignal(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil &&
		!errors.Is(err, runtime.ErrEngineStuck) && !errors.Is(context.Cause(ctx), runtime.ErrEngineStuck)
}

// execute is harness.Execute; the tests of the runs' overlap replace it.
var execute = harness.Execute

// runCell runs every seed of one cell, one after another, each starting
// while the one before tears down; each run's results.json names the cell
// and its campaign (name, campaignID).
func runCell(ctx context.Context, c Cell, name, campaignID string, opts Options) (store.CellResult, error) {
	if c.Margin != nil {
		return runMarginCell(ctx, c, campaignID, opts)
	}
	cr := newCellResult(c)
	var errs []error
	type outcome struct {
		rr  store.RunResult
		err error
	}
	outs := make([]outcome, len(c.Seeds))
	started := 0
	var wg sync.WaitGroup
	// A run's logs, teardown, check and report overlap the next run of
	// the cell (harness.Config.Released). finishing is closed when the
	// latest released run's Execute returned: the loop waits for it
	// before it starts another, so that no more than two runs of a cell
	// are ever under way.
	var finishing chan struct{}
	for k, seed := range c.Seeds {
		if ctx.Err() != nil {
			break
		}
		cfg := harness.Config{Plan: c.Plan, Runtime: opts.Runtime, StoreDir: opts.StoreDir, ClientBinary: opts.ClientBinary}
		cfg.Plan.Seed = seed
		cfg.Plan.Judge = c.Judge
		cfg.Labels = map[string]string{"lockstorm.campaign": campaignID}
		cfg.Campaign = &store.CampaignOf{Name: name, ID: campaignID, Cell: c.Name}
		released := make(chan error, 1)
		var gone atomic.Bool // the run was released: its phases are no longer the cell's
		cfg.Released = func(err error) {
			gone.Store(true)
			released <- err
		}
		if opts.Progress != nil {
			opts.Progress.CellStart(c, k+1, len(c.Seeds))
			cfg.Phase = func(p string) {
				if !gone.Load() {
					opts.Progress.Phase(c, p)
				}
			}
			cfg.Console = opts.Progress.Log()
		}
		done := make(chan struct{})
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			outs[k].rr, outs[k].err = execute(ctx, cfg)
			if opts.Progress != nil && outs[k].rr.ID != "" {
				opts.Progress.CellDone(c, outs[k].rr)
			}
		}()
		var ended error
		select {
		case ended = <-released:
		case <-done:
			ended = outs[k].err
		}
		if finishing != nil {
			<-finishing
		}
		finishing = done
		if runtime.SharesHosts(opts.Runtime) {
			<-done // the next run would find this one's servers on the hosts
		}
		if errors.Is(ended, runtime.ErrEngineStuck) {
			break
		}
	}
	wg.Wait()
	for k, o := range outs[:started] {
		rr, err, seed := o.rr, o.err, c.Seeds[k]
		if rr.ID != "" {
			judged := Judged(rr, c.Judge)
			cr.Runs = append(cr.Runs, store.CellRun{
				Dir: filepath.Join(rr.Cell, rr.ID), Seed: rr.Plan.Seed, Status: judged,
				Summary: rr.Summary, FirstViolation: rr.FirstViolation, WorkloadStart: rr.WorkloadStart, Ops: rr.Ops,
				Indeterminate: indeterminate(rr), Duration: rr.Duration, Error: rr.Error, ServerVersion: rr.ServerVersion,
				Interrupted: interruptedBySignal(ctx, err), Phases: rr.Phases, StoppedEarlyAt: rr.StoppedEarlyAt,
			})
			if l := rr.Leftover; l != nil && cr.Infrastructure == "" {
				cr.Infrastructure = fmt.Sprintf("seed %d: teardown failed, so its containers may be left (%s removes them): %s", seed, l.Command, l.Error)
				errs = append(errs, fmt.Errorf("cell %s seed %d: teardown: %s", c.Name, seed, l.Error))
			}
			cr.Runs[len(cr.Runs)-1].Ratios, cr.Runs[len(cr.Runs)-1].RatioClients = ratios(rr)
			cr.Runs[len(cr.Runs)-1].NoFaults, cr.Runs[len(cr.Runs)-1].Unjudged = rr.NoFaults, Unjudged(rr, c.Judge)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cell %s seed %d: %w", c.Name, seed, err))
			if cr.Infrastructure == "" && !interruptedBySignal(ctx, err) {
				cr.Infrastructure = fmt.Sprintf("seed %d: %v", seed, err)
			}
		}
	}
	Summarize(&cr)
	return cr, errors.Join(errs...)
}

func newCellResult(c Cell) store.CellResult {
	return store.CellResult{
		Name: c.Name, Index: c.Index, Target: c.Target, Workload: c.Workload, Nemesis: c.NemesisName(),
		Variant: c.Plan.Variant, Expect: c.Expect, Description: c.Claim, Speedup: c.Speedup,
		MatrixOf: c.MatrixOf,
	}
}

// Judged returns the verdict of a run over only the checkers a cell judges
// by (all of them when only is empty).
func Judged(rr store.RunResult, only []string) checker.Status {
	if len(only) == 0 {
		return rr.Status
	}
	return checker.Judge(rr.Results, checker.Rules{Only: only, BrokeOff: rr.Error}).Status
}

// indeterminate counts the info completions of client ops in a run, from
// the stats checker's details.
func indeterminate(rr store.RunResult) int {
	for _, r := range rr.Results {
		if r.Checker == checker.NameStats {
			return statsInfo(r.Details)
		}
	}
	return 0
}

// Summarize computes a cell's verdict, statistics and whether its
// expectation held, from its runs.
func Summarize(cr *store.CellResult) {
	var sts []checker.Status
	var ttfv []int64
	violations := 0
	var ops int
	var secs float64
	cr.Indeterminate = 0
	for _, r := range cr.Runs {
		sts = append(sts, r.Status)
		if r.Status == checker.Invalid {
			violations++
			if r.FirstViolation >= 0 {
				ttfv = append(ttfv, store.TimeToViolation(r.FirstViolation, r.WorkloadStart))
			}
		}
		ops += r.Ops
		secs += r.Duration.Seconds()
		cr.Indeterminate += r.Indeterminate
	}
	cr.Status = checker.Merge(sts...)
	if len(cr.Runs) == 0 {
		cr.Status = checker.Unknown
	}
	if len(cr.Runs) > 0 {
		cr.DetectionRate = float64(violations) / float64(len(cr.Runs))
	}
	if secs > 0 {
		cr.Throughput = float64(ops) / secs
	}
	cr.TTFVMedian, cr.TTFVMin, cr.TTFVMax = -1, -1, -1
	if len(ttfv) > 0 {
		sort.Slice(ttfv, func(i, j int) bool { return ttfv[i] < ttfv[j] })
		cr.TTFVMin, cr.TTFVMax = ttfv[0], ttfv[len(ttfv)-1]
		cr.TTFVMedian = ttfv[len(ttfv)/2]
	}
	broken, reason := brokenRuns(cr)
	if cr.Infrastructure == "" && reason != "" {
		cr.Infrastructure = reason
	}
	if len(cr.Runs)-broken == 0 && violations == 0 {
		// Nothing was judged to its end and nothing was found: no verdict.
		switch {
		case cr.NotRun != "":
		case cr.Infrastructure != "":
			cr.NotRun = "infrastructure: " + cr.Infrastructure
		case broken > 0:
			cr.NotRun = "interrupted: a signal (Ctrl-C) cut its runs short"
		default:
			cr.NotRun = "no run finished"
		}
		cr.Met, cr.Outcome = false, "not run: "+cr.NotRun
		return
	}
	cr.NotRun = ""
	cr.Met, cr.Outcome = expectation(cr, violations, broken)
	evidence(cr)
	if len(cr.Speedup) > 0 {
		met, words := speedup(cr)
		cr.Met = cr.Met && met
		cr.Outcome += "; " + words
	}
	if cr.Margin != nil {
		// A margin cell explores: what it found is its outcome.
		cr.Outcome = "margin of " + cr.Margin.Summary()
	}
}

// ratios reads the contention checker's ratios of a run.
func ratios(rr store.RunResult) (map[string]float64, int) {
	for _, r := range rr.Results {
		if r.Checker != checker.NameContention {
			continue
		}
		var d checker.ContentionDetails
		if json.Unmarshal(r.Details, &d) == nil {
			return d.Ratios, d.At
		}
	}
	return nil, 0
}

// speedup checks a cell's speedup against the median ratio of its runs,
// way by way, and says what was measured.
func speedup(cr *store.CellResult) (bool, string) {
	met := true
	cr.Ratios = map[string]float64{}
	at := 0
	var parts []string
	for _, way := range checker.Ways[1:] {
		least, asked := cr.Speedup[way]
		if !asked {
			continue
		}
		var rs []float64
		for _, r := range cr.Runs {
			if v, ok := r.Ratios[way]; ok {
				rs = append(rs, v)
				at = r.RatioClients
			}
		}
		if len(rs) < len(cr.Runs) || len(rs) == 0 {
			met = false
			parts = append(parts, fmt.Sprintf("%s: %d of %d runs measured it against the lock", way, len(rs), len(cr.Runs)))
			continue
		}
		sort.Float64s(rs)
		median := rs[len(rs)/2]
		cr.Ratios[way] = median
		word := "at least"
		if median < least {
			met, word = false, "short of"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f× the lock (%s %g×)", way, median, word, least))
	}
	return met, fmt.Sprintf("at %d clients %s", at, strings.Join(parts, ", "))
}

// brokenRuns counts the runs that broke off (a signal or an
// infrastructure failure) without finding a violation first: they are no
// evidence either way. reason is the first infrastructure failure of any
// run, also of one that found a violation before it broke.
func brokenRuns(cr *store.CellResult) (n int, reason string) {
	for _, r := range cr.Runs {
		if r.Error == "" {
			continue
		}
		if reason == "" && !r.Interrupted {
			reason = fmt.Sprintf("seed %d: %s", r.Seed, r.Error)
		}
		if r.Status != checker.Invalid {
			n++
		}
	}
	return n, reason
}

// expectation says whether the cell's expectation held over its runs, of
// which broken broke off with nothing found.
func expectation(cr *store.CellResult, violations, broken int) (bool, string) {
	n := len(cr.Runs)
	judged := n - broken
	unknown := 0
	for _, r := range cr.Runs {
		if r.Status == checker.Unknown && r.Error == "" {
			unknown++
		}
	}
	brokeOff := ""
	if broken > 0 {
		brokeOff = fmt.Sprintf("; %d of %d runs broke off before the end", broken, n)
	}
	switch {
	case cr.Expect == store.ExpectSafe && violations > 0:
		return false, fmt.Sprintf("expected safe, but %d of %d runs found a violation", violations, n)
	case cr.Expect == store.ExpectSafe && broken > 0:
		return false, fmt.Sprintf("expected safe, but %d of %d runs broke off before the end, so they show nothing", broken, n)
	case cr.Expect == store.ExpectSafe && unknown > 0:
		return false, fmt.Sprintf("expected safe, but %d of %d runs were undecided", unknown, n)
	case cr.Expect == store.ExpectSafe:
		return true, fmt.Sprintf("safe, as expected, in %d of %d runs", n, n)
	case cr.Expect == store.ExpectUnsafe && violations > 0:
		return true, fmt.Sprintf("reproduced in %d of %d runs, as expected", violations, n)
	case cr.Expect == store.ExpectUnsafe:
		return false, fmt.Sprintf("expected a violation, but none of the %d runs that ran to the end found one%s", judged, brokeOff)
	}
	return true, fmt.Sprintf("explored: %d of %d runs found a violation%s", violations, n, brokeOff)
}

// ExitCode is the campaign's exit code: 1 if a safe cell was violated,
// else 4 if the infrastructure failed (infraFailed, or a cell's runs
// failed on it), else 2 if an unsafe cell did not
// reproduce or a result was unknown, else 0.
func ExitCode(cells []store.CellResult, infraFailed bool) int {
	unmet := false
	for _, c := range cells {
		if c.Infrastructure != "" {
			infraFailed = true
		}
		if c.Met {
			continue
		}
		if c.Expect == store.ExpectSafe && c.Status == checker.Invalid {
			return ExitViolated
		}
		unmet = true
	}
	switch {
	case infraFailed:
		return ExitInfraFail
	case unmet:
		return ExitUnmet
	}
	return ExitMet
}

// dispatchOrder is the order in which parallel workers start the cells:
// the file's for one worker; for more, the longest expected first (a
// margin's search, then by time limit times runs), ties in file order.
// This is the longest-processing-time rule of list scheduling: with two
// workers the campaign ends near half the sum of its runs rather than
// with its longest cell running alone at the end.
func dispatchOrder(cells []Cell, parallel int) []int {
	order := make([]int, len(cells))
	for i := range order {
		order[i] = i
	}
	if parallel <= 1 {
		return order
	}
	cost := func(c Cell) time.Duration {
		if c.Margin != nil {
			return math.MaxInt64
		}
		return c.Plan.TimeLimit * time.Duration(max(len(c.Seeds), 1))
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cost(cells[b]), cost(cells[a])) })
	return order
}
