package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
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
	if werr := WriteRunDir(r.dir, r.res, h); werr != nil {
		r.log.Error("write run directory", "err", werr)
	}
	if lerr := store.UpdateLatest(r.cfg.StoreDir, r.dir); lerr != nil {
		r.log.Warn("latest link", "err", lerr)
	}
	r.log.Info("verdict", "status", r.res.Status, "summary", r.res.Summary, "dir", r.dir)
}

// Judge runs every checker that applies to res.Plan on h and fills in the
// verdict, the results, the summary and the time of the first violation.
// It is a pure function of the history and the run's plan, so a saved run
// can be judged again by newer checkers.
func Judge(res *store.RunResult, h history.History) {
	opts := checker.Options{Budget: res.Plan.CheckBudget}
	if w, err := workloads.Lookup(res.Plan.Workload); err == nil {
		opts.Extra = w.Checkers(&res.Plan)
	}
	rep := checker.Check(h, opts)
	res.Results = rep.Results
	res.Ops = len(h)
	res.FirstViolation = checker.FirstViolation(rep)
	res.Status = rep.Status
	if res.Error != "" && res.Status == checker.Valid {
		// A run that broke off is not evidence of safety.
		res.Status = checker.Unknown
	}
	res.Summary = summarize(res, rep)
}

// summarize says in one sentence what happened.
func summarize(res *store.RunResult, rep checker.Report) string {
	// The first anomaly of the most readable checker leads the summary:
	// an overlap of holds says more to a reader than a failed search.
	var first *checker.Anomaly
	count := 0
	for _, rr := range rep.Results {
		count += rr.AnomalyCount
	}
	for _, name := range summaryOrder(rep) {
		for i := range rep.Results {
			rr := &rep.Results[i]
			if rr.Checker != name || rr.Status != checker.Invalid {
				continue
			}
			for j := range rr.Anomalies {
				if a := &rr.Anomalies[j]; first == nil || a.Start < first.Start {
					first = a
				}
			}
		}
		if first != nil {
			break
		}
	}
	switch {
	case res.Status == checker.Invalid && first != nil:
		if count == 1 {
			return fmt.Sprintf("1 anomaly found: %s%s", first.Explanation, fencingVerdict(rep))
		}
		return fmt.Sprintf("%d anomalies found. The first: %s%s", count, first.Explanation, fencingVerdict(rep))
	case res.Status == checker.Invalid:
		return "The history is invalid."
	case res.Error != "":
		return fmt.Sprintf("The run broke off (%s); the history up to then shows no anomaly, but it cannot show safety.", res.Error)
	case res.Status == checker.Unknown:
		for _, rr := range rep.Results {
			if rr.Status == checker.Unknown {
				return fmt.Sprintf("Undecided: %s", rr.Summary)
			}
		}
		return "Undecided."
	}
	return fmt.Sprintf("No anomaly in %d operations: every checker found the history valid.", res.Ops)
}

// fencingVerdict adds, for a run whose lock broke, whether fencing kept the
// data safe: the difference between "the lock broke" and "the data broke".
func fencingVerdict(rep checker.Report) string {
	for _, rr := range rep.Results {
		if rr.Checker != "fencing" || len(rr.Details) == 0 {
			continue
		}
		var d checker.FencingDetails
		if json.Unmarshal(rr.Details, &d) != nil || d.StaleRejected+d.StaleAccepted == 0 {
			return ""
		}
		if d.StaleAccepted == 0 {
			return fmt.Sprintf(" Fencing rejected all %d stale writes, so the data stayed safe.", d.StaleRejected)
		}
		return fmt.Sprintf(" %d stale writes got through to the data (%d rejected by fencing).", d.StaleAccepted, d.StaleRejected)
	}
	return ""
}

// summaryOrder lists the checkers of rep, most readable first.
func summaryOrder(rep checker.Report) []string {
	lead := []string{"mutual-exclusion", "liveness", "fencing"}
	out := append([]string(nil), lead...)
	for _, rr := range rep.Results {
		if !slices.Contains(lead, rr.Checker) {
			out = append(out, rr.Checker)
		}
	}
	return out
}

// WriteRunDir writes results.json, index.html and linearizability.html of
// a run directory.
func WriteRunDir(dir string, res store.RunResult, h history.History) error {
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reports.WriteRun(&buf, res, h); err != nil {
		return fmt.Errorf("render run page: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.IndexFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write run page: %w", err)
	}
	buf.Reset()
	if err := reports.WriteLinearizability(&buf, h); err != nil {
		return fmt.Errorf("render linearizability page: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.LinearizabilityFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write linearizability page: %w", err)
	}
	return nil
}

// Recheck judges the run in dir again from its history.jsonl with the
// current checkers and rewrites its results.json and reports. A history
// without results.json (a run killed before it finished) gets one. A
// budget above zero replaces the plan's check budget.
func Recheck(dir string, budget time.Duration) (store.RunResult, error) {
	h, err := history.ReadFile(filepath.Join(dir, store.HistoryFile))
	if err != nil {
		return store.RunResult{}, err
	}
	res, rerr := store.ReadRunResult(dir)
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return res, fmt.Errorf("%w: %v", history.ErrMalformed, rerr)
	}
	if rerr != nil {
		res = store.RunResult{ID: filepath.Base(dir), Cell: filepath.Base(filepath.Dir(dir)), FirstViolation: -1,
			Error: "the run did not finish: results.json was missing"}
		res.Plan.Workload = "mutex"
	}
	if budget > 0 {
		res.Plan.CheckBudget = budget
	}
	Judge(&res, h)
	return res, WriteRunDir(dir, res, h)
}
