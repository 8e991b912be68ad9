package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

func newCheckCmd() *cobra.Command {
	var budget time.Duration
	var workload string
	c := &cobra.Command{
		Use:   "check PATH",
		Short: "Check a history.jsonl, or re-check a run directory and rewrite its results and report",
		Long: `check runs every checker on a history. PATH is either a history.jsonl file
(of any origin: the format is in docs/history.md) or a run directory, whose
results.json and index.html are then rewritten with the current checkers.`,
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
				return usageErr("check: %v", err)
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
				var h history.History
				h, err = history.ReadFile(path)
				if err == nil {
					res = store.RunResult{ID: filepath.Base(path), FirstViolation: -1}
					res.Plan.Workload = workload
					res.Plan.CheckBudget = budget
					harness.Judge(&res, h)
				}
			}
			if err != nil {
				if errors.Is(err, history.ErrMalformed) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %s\n", upper(res.Status), res.Summary)
			for _, r := range res.Results {
				fmt.Fprintf(out, "  %-17s %-8s %s\n", r.Checker, r.Status, r.Summary)
			}
			if st.IsDir() {
				fmt.Fprintf(out, "report: %s\n", filepath.Join(dir, store.IndexFile))
			}
			return verdictErr(res.Status)
		},
	}
	c.Flags().DurationVar(&budget, "check-budget", 60*time.Second, "time budget of the linearizability search")
	c.Flags().StringVar(&workload, "workload", "mutex", "workload whose checkers also run, for a bare history file")
	return c
}
