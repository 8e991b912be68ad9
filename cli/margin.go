package cli

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/campaign"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/margin"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

func newMarginCmd() *cobra.Command {
	rf := newRunFlags()
	p := &rf.cfg.Plan
	var vary string
	var seeds int
	var precision time.Duration
	c := &cobra.Command{
		Use:   "margin --target T --nemesis N --vary OPTION=FROM..TO [--seeds K] [run flags]",
		Short: "Find the smallest fault magnitude that breaks a lock, and the largest it survives",
		Long: `margin bisects the range of one duration option of the run's nemesis, running
K seeds at each value tried, and reports the largest value at which no run
broke the lock (holds) and the smallest at which every run did (breaks), with
the violation rate at every step. Its runs hold the lock for 20ms
(margin.DefaultHold) unless --hold says otherwise: a margin measures the
lock, and a long hold would spend part of the lease before any fault. It
assumes that a larger value breaks the
lock at least as often. Its results.json, in
store/margins/<target>-<option>/<timestamp>/ with the runs under runs/, has
margin.holds and margin.breaks in nanoseconds and every step with its runs.

Exit codes: 0 both found, 2 the range has no boundary (the lock held at TO,
broke at FROM, or one end is missing), 3 bad usage (an option that no
nemesis of the run has), 4 infrastructure failure.`,
		Example: `  lockstorm margin --target redis --nemesis client-pause --ttl 1s --vary client-pause.stall=200ms..3s --seeds 3 --time-limit 20s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("hold") {
				p.Hold = margin.DefaultHold
			}
			if err := rf.plan(); err != nil {
				return err
			}
			v, err := margin.ParseVary(vary)
			if err != nil {
				return usageErr("%v", err)
			}
			if seeds < 1 || seeds > 100 {
				return usageErr("--seeds %d must be 1..100", seeds)
			}
			if err := checkVary(*p, v); err != nil {
				return err
			}
			if p.Seed == 0 {
				p.Seed = 1
			}
			var seedList []int64
			for i := 0; i < seeds; i++ {
				seedList = append(seedList, p.Seed+int64(i))
			}
			at := func(value time.Duration, seed int64) plan.Plan {
				q := *p
				q.Options = option.Values{}
				for k, s := range p.Options {
					q.Options[k] = s
				}
				q.Options[v.Option] = option.FormatDuration(value)
				q.Seed = seed
				return q
			}
			first, err := harness.Resolve(at(v.From, seedList[0]))
			if err != nil {
				return flagErr(err)
			}
			if _, err := harness.Resolve(at(v.To, seedList[len(seedList)-1])); err != nil {
				return flagErr(err)
			}
			if err := harness.CheckClient(first.Plan); err != nil {
				return flagErr(err)
			}
			if err := store.CheckRoot(rf.cfg.StoreDir); err != nil {
				return usageErr("--store: %v", err)
			}
			began := time.Now()
			dir, _, err := store.NewRunDir(filepath.Join(rf.cfg.StoreDir, store.MarginsDir), p.Target+"-"+v.Option, began)
			if err != nil {
				return err
			}
			cfg := rf.cfg
			cfg.StoreDir = storeOf(dir)
			closeRT, err := attachRuntime(cmd, &cfg, p.Target, &rf.ssh)
			if err != nil {
				return err
			}
			defer closeRT()
			mr := store.MarginResult{
				Command: harness.MarginCommand(first.Plan, v.Option, v.String(), seeds), Target: p.Target, Nemeses: first.Plan.Nemeses,
				Vary: store.MarginVary{Option: v.Option, From: v.From, To: v.To}, Seeds: seedList, Lease: first.Plan.Lease,
				Plan: first.Plan, Started: began,
			}
			trials := map[time.Duration][]trial{}
			oracle := func(ctx context.Context, value time.Duration) (int, int, error) {
				broke := 0
				for _, seed := range seedList {
					t, err := runTrial(ctx, cfg, at(value, seed))
					trials[value] = append(trials[value], t)
					if err != nil {
						return 0, 0, err
					}
					if !rf.quiet {
						fmt.Fprintf(cmd.ErrOrStderr(), "  %s=%s seed %d: %s (%s)\n", v.Option, option.FormatDuration(value), seed, t.Status, t.Dir)
					}
					if t.Broke() {
						broke++
					}
					if len(trials) == 1 && len(trials[value]) == 1 {
						// The lease the servers granted, which the
						// margin is read against.
						if res, err := store.ReadRunResult(t.Dir); err == nil {
							mr.Lease = res.Plan.Lease
						}
					}
				}
				if !rf.quiet {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s=%s: broke the lock in %d of %d runs\n", v.Option, option.FormatDuration(value), broke, len(seedList))
				}
				return broke, len(seedList), nil
			}
			res, err := margin.Search(cmd.Context(), oracle, margin.Config{From: v.From, To: v.To, Precision: precision})
			mr.Margin = campaign.MarginFound(res, trials)
			if err != nil {
				mr.Error = err.Error()
			}
			if werr := campaign.WriteMargin(dir, mr); werr != nil && err == nil {
				err = werr
			}
			if err != nil {
				return err
			}
			berr := res.Err(margin.Config{From: v.From, To: v.To})
			printMargin(cmd, mr, dir, berr)
			if berr != nil {
				return &exitError{code: exitUnknown, err: berr}
			}
			return nil
		},
	}
	rf.register(c)
	f := c.Flags()
	f.StringVar(&vary, "vary", "", "the duration option to vary and its range, OPTION=FROM..TO, e.g. client-pause.stall=200ms..3s")
	f.IntVar(&seeds, "seeds", 5, "runs (seeds S, S+1, ...) at each value tried")
	f.DurationVar(&precision, "precision", 0, "stop bisecting when the values bracketed are this close (0: a 32nd of the range)")
	_ = c.MarkFlagRequired("vary")
	return c
}

// checkVary refuses an option that no nemesis of the run declares, one
// given with --opt too, and one that does not take durations.
func checkVary(p plan.Plan, v margin.Vary) error {
	if len(p.Nemeses) == 0 {
		return usageErr("--nemesis: a margin varies a fault of the run; name its nemesis")
	}
	if _, ok := p.Options[v.Option]; ok {
		return usageErr("--vary %s: also given with --opt; give it once", v.Option)
	}
	if err := harness.CheckVary(p, v.Option, v.From, v.To); err != nil {
		return usageErr("--vary %s: %v", v, err)
	}
	return nil
}

// printMargin prints the margin found, or why none was (berr), the lease,
// and every step in the order of the values.
func printMargin(cmd *cobra.Command, mr store.MarginResult, dir string, berr error) {
	w := cmd.OutOrStdout()
	opt := mr.Vary.Option
	switch {
	case mr.Margin.Outcome == margin.Found:
		fmt.Fprintf(w, "MARGIN %s: holds at %s (no violation in %d runs), breaks at %s (a violation in every run)\n",
			opt, option.FormatDuration(*mr.Margin.Holds), len(mr.Seeds), option.FormatDuration(*mr.Margin.Breaks))
	default:
		fmt.Fprintf(w, "NO BOUNDARY for %s in %s..%s: %v\n", opt, option.FormatDuration(mr.Vary.From), option.FormatDuration(mr.Vary.To), berr)
	}
	if mr.Lease > 0 {
		fmt.Fprintf(w, "  lease granted: %s\n", option.FormatDuration(mr.Lease))
	}
	steps := slices.Clone(mr.Margin.Steps)
	slices.SortFunc(steps, func(a, b store.MarginStep) int { return cmp.Compare(a.Value, b.Value) })
	for _, st := range steps {
		fmt.Fprintf(w, "  %-10s broke %d of %d\n", option.FormatDuration(st.Value), st.Violations, st.Runs)
	}
	fmt.Fprintf(w, "results: %s\n", filepath.Join(dir, store.ResultsFile))
	fmt.Fprintf(w, "page: %s\n", filepath.Join(dir, store.IndexFile))
}
