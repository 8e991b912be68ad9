package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/workloads"
)

func newCheckCmd() *cobra.Command {
	var budget time.Duration
	var workload string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check PATH",
		Short: "Check a history.jsonl, or re-check a run directory and rewrite its results and report",
		Long: `check runs every checker on a history. PATH is either a history.jsonl file
(of any origin: the format is in docs/history.md) or a run directory, whose
results.json and index.html are then rewritten with the current checkers.
A history whose last line is cut short, as a crash leaves it, is judged up
to that line as a run that broke off: unknown at best.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("check takes one PATH (a history.jsonl or a run directory), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			st, err := os.Stat(path)
			if err != nil {
				return usageErr("check: %s", store.Problem(path, err))
			}
			if err := checkInput(path, st); err != nil {
				return err
			}
			var res store.RunResult
			dir := path
			if st.IsDir() {
				if _, err := os.Stat(filepath.Join(path, store.HistoryFile)); errors.Is(err, fs.ErrNotExist) {
					return usageErr("check: %s has no %s", path, store.HistoryFile)
				}
				res, err = harness.Recheck(path, budget)
			} else {
				dir = filepath.Dir(path)
				res, err = checkFile(path, workload, budget)
			}
			if err != nil {
				if errors.Is(err, history.ErrMalformed) || errors.Is(err, store.ErrLink) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.MarshalIndent(res, "", "  ")
				if err != nil {
					return fmt.Errorf("encode results: %w", err)
				}
				fmt.Fprintf(out, "%s\n", b)
				return verdictErr(res.Status)
			}
			fmt.Fprintf(out, "%s: %s\n", upper(res.Status), res.Summary)
			printNoFaults(out, res)
			printResults(out, res.Results)
			if st.IsDir() {
				fmt.Fprintf(out, "report: %s\n", filepath.Join(dir, store.IndexFile))
			}
			return verdictErr(res.Status)
		},
	}
	c.Flags().DurationVar(&budget, "check-budget", 60*time.Second, "time budget of the linearizability search")
	c.Flags().StringVar(&workload, "workload", plan.Default().Workload, "workload whose checkers also run, for a bare history file")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON, in the form of results.json, instead of words")
	return c
}

// resultWord is a checker's status for the listing: "skipped" when it had
// nothing to judge, "measured" for a result that only measures (stats,
// contention) and so has no verdict to show.
func resultWord(r checker.Result) string {
	switch {
	case r.Skipped:
		return "skipped"
	case checker.Measures(r.Checker):
		return "measured"
	}
	return string(r.Status)
}

// printResults lists the checkers' verdicts, one line each, then the
// results that only measure, so that a count never reads as a verdict.
func printResults(w io.Writer, results []checker.Result) {
	for _, measures := range []bool{false, true} {
		for _, r := range results {
			if checker.Measures(r.Checker) == measures {
				fmt.Fprintf(w, "  %-17s %-8s %s\n", r.Checker, resultWord(r), r.Summary)
			}
		}
	}
}

// checkFile judges a bare history file. The lock checkers read it one key
// at a time from a compact copy (history.ReadSplitFile), which keeps
// memory small on long histories; a workload with checkers of its own
// needs the whole history in memory.
func checkFile(path, workload string, budget time.Duration) (store.RunResult, error) {
	res := store.RunResult{ID: filepath.Base(path), FirstViolation: -1}
	res.Plan.Workload, res.Plan.CheckBudget = workload, budget
	w, err := workloads.Lookup(workload)
	if err != nil {
		return res, usageErr("check: --workload: %v", err)
	}
	var torn *history.TruncatedError
	if len(w.Checkers(&res.Plan)) > 0 {
		h, err := history.ReadFile(path)
		if errors.As(err, &torn) {
			res.Error, err = torn.Reason(), nil
		}
		if err != nil {
			return res, err
		}
		harness.Judge(&res, h)
		return res, nil
	}
	if os.Getenv("GOGC") == "" {
		// A check is one batch whose working set is the history: a
		// smaller heap goal than Go's default keeps its peak near the
		// working set, and costs no time here (docs/performance.md).
		debug.SetGCPercent(50)
	}
	s, err := history.ReadSplitFile(path)
	if errors.As(err, &torn) {
		res.Error, err = torn.Reason(), nil
	}
	if err != nil {
		return res, err
	}
	rep, err := checker.CheckSplit(s, checker.Options{Budget: budget})
	if err != nil {
		return res, err
	}
	res.Results, res.Ops = rep.Results, s.Len()
	v := checker.Judge(res.Results, checker.Rules{BrokeOff: res.Error})
	res.Status, res.Summary, res.FirstViolation = v.Status, v.Summary, v.FirstViolation
	return res, nil
}
