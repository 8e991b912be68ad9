package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/reports"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/workloads"
)

// finish closes the history, checks it, and writes results.json, the
// reports and the latest link. err is the run's own error, if any.
func (r *run) finish(err error) {
	if r.rec == nil {
		return
	}
	done := r.phase("check")
	if cerr := r.rec.Close(); cerr != nil {
		r.log.Error("close history", "err", cerr)
	}
	h := r.rec.History()
	r.res.Duration = time.Since(r.began)
	if err != nil {
		r.res.Error = err.Error()
	}
	Judge(&r.res, h)
	done()
	// The report phase cannot be on the page it times: results.json is
	// written again with it once the pages are.
	done = r.phase("report")
	werr := WriteRunDir(r.dir, r.res, h)
	done()
	if werr != nil {
		r.log.Error("write run directory", "err", werr)
	} else if werr := store.WriteJSON(filepath.Join(r.dir, store.ResultsFile), r.res); werr != nil {
		r.log.Error("write results", "err", werr)
	}
	if lerr := store.UpdateLatest(r.cfg.StoreDir, r.dir); lerr != nil {
		r.log.Warn("latest link", "err", lerr)
	}
	r.log.Info("verdict", "status", r.res.Status, "summary", r.res.Summary, "dir", r.dir)
}

// Judge runs every checker that applies to res.Plan on h and fills in the
// verdict, the results, the summary and the time of the first violation,
// and why no fault struck when nemeses were asked for and none did.
// It is a pure function of the history and the run's plan, so a saved run
// can be judged again by newer checkers. The verdict rules are
// checker.Judge's; a plan that names checkers to judge by (Plan.Judge) is
// judged by those, and AllCheckers keeps the verdict over all of them.
func Judge(res *store.RunResult, h history.History) {
	opts := checker.Options{Budget: res.Plan.CheckBudget}
	if w, err := workloads.Lookup(res.Plan.Workload); err == nil {
		opts.Extra = w.Checkers(&res.Plan)
	}
	res.Results = checker.Check(h, opts).Results
	res.Ops = len(h)
	v := checker.Judge(res.Results, checker.Rules{Only: res.Plan.Judge, BrokeOff: res.Error})
	res.Status, res.Summary, res.FirstViolation = v.Status, v.Summary, v.FirstViolation
	res.AllCheckers = ""
	if len(res.Plan.Judge) > 0 {
		all := checker.Judge(res.Results, checker.Rules{BrokeOff: res.Error})
		res.AllCheckers = all.Status
		if all.Status != v.Status {
			// What the checkers that do not decide found stays in
			// sight: a run valid by fencing whose lock broke says so.
			res.Summary += fmt.Sprintf(" Over all checkers the run is %s: %s", strings.ToUpper(string(all.Status)), all.Summary)
		}
	}
	res.NoFaults = store.NoFaults(res, checker.FaultsStruck(h))
}

// WriteRunDir writes results.json, index.html and linearizability.html of
// a run directory, each as a new file (store.WriteFile). A symbolic link
// in the place of one of them is refused before any is written. The page
// shows the run's shrunk schedule when the run has a shrink/shrink.json
// (lockstorm shrink); one that cannot be read is left out.
func WriteRunDir(dir string, res store.RunResult, h history.History) error {
	if err := store.RefuseLinks(dir, store.ResultsFile, store.IndexFile, store.LinearizabilityFile); err != nil {
		return err
	}
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		return err
	}
	var buf bytes.Buffer
	var shrunk *store.ShrinkResult
	if s, err := store.ReadShrinkResult(dir); err == nil {
		shrunk = &s
	}
	if err := reports.WriteRunShrunk(&buf, res, h, shrunk); err != nil {
		return fmt.Errorf("render run page: %w", err)
	}
	if err := store.WriteFile(filepath.Join(dir, store.IndexFile), buf.Bytes()); err != nil {
		return fmt.Errorf("write run page: %w", err)
	}
	buf.Reset()
	if err := reports.WriteLinearizability(&buf, h); err != nil {
		return fmt.Errorf("render linearizability page: %w", err)
	}
	if err := store.WriteFile(filepath.Join(dir, store.LinearizabilityFile), buf.Bytes()); err != nil {
		return fmt.Errorf("write linearizability page: %w", err)
	}
	return nil
}

// Recheck judges the run in dir again from its history.jsonl with the
// current checkers and rewrites its results.json and reports. A symbolic
// link in the place of one of them is refused (store.ErrLink) before
// anything is read or written. A history
// without results.json (a run killed before it finished) gets one. A
// budget above zero replaces the plan's check budget.
func Recheck(dir string, budget time.Duration) (store.RunResult, error) {
	if err := store.RefuseLinks(dir, store.ResultsFile, store.IndexFile, store.LinearizabilityFile); err != nil {
		return store.RunResult{}, err
	}
	h, err := history.ReadFile(filepath.Join(dir, store.HistoryFile))
	var torn *history.TruncatedError
	if errors.As(err, &torn) {
		err = nil // the crash point of a run that broke off: judge what came before
	}
	if err != nil {
		return store.RunResult{}, err
	}
	res, rerr := store.ReadRunResult(dir)
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return res, fmt.Errorf("%w: %v", ErrBadInput, rerr)
	}
	if rerr != nil {
		res = store.RunResult{ID: filepath.Base(dir), Cell: filepath.Base(filepath.Dir(dir)), FirstViolation: -1,
			Error: "the run did not finish: results.json was missing"}
		res.Plan.Workload = plan.Default().Workload
	}
	if budget > 0 {
		res.Plan.CheckBudget = budget
	}
	if torn != nil && res.Error == "" {
		res.Error = torn.Reason()
	}
	Judge(&res, h)
	return res, WriteRunDir(dir, res, h)
}
