package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/shrink"
	"github.com/lockstorm/lockstorm/store"
)

// ShrinkDir and ShrunkFile are store's: the shrink's directory in the
// run shrunk, and the shrunk schedule's file there.
const (
	ShrinkDir  = store.ShrinkDir
	ShrunkFile = store.ShrunkFile
)

func newShrinkCmd() *cobra.Command {
	var replays int
	var confirm bool
	var threshold, out string
	var floor, precision time.Duration
	var quiet bool
	c := &cobra.Command{
		Use:   "shrink RUN",
		Short: "Find the smallest fault schedule that still breaks the lock of a failing run",
		Long: `shrink replays a failing run (same target, settings and seed) with faults of
its schedule removed (delta debugging), then with each remaining fault
shortened (bisection), each candidate --replays times, and keeps the smallest
schedule whose violation rate stays at or above --threshold. The schedule
found is then replayed once more (--confirm): the shortening ends at the edge
between breaking and not, where one round of replays is least to be trusted,
so it is taken only if its rate over both rounds stays at or above the
threshold, else the next larger schedule kept is tried. It writes that
schedule to a file and prints the command that runs exactly it again
(lockstorm run --schedule FILE ...). A reproduction rate is what it
guarantees, not determinism. Candidates and their replays go into
RUN/shrink/, with shrink.json.

Exit codes: 0 a schedule was found, 2 the run's own schedule did not break the
lock often enough in its replays, 3 bad usage or a run that did not break the
lock, 4 infrastructure failure.`,
		Example: `  lockstorm shrink store/latest
  lockstorm shrink store/redis-mutex-client-pause/20260101T120000.000 --replays 3 --threshold 2/3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if filepath.Base(dir) == store.ResultsFile {
				dir = filepath.Dir(dir)
			}
			// store/latest moves with the next run: name the run itself.
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				dir = real
			}
			th, err := parseRate(threshold)
			if err != nil {
				return usageErr("--threshold %q: %v", threshold, err)
			}
			if replays < 1 || replays > 100 {
				return usageErr("--replays %d must be 1..100", replays)
			}
			scfg := shrink.DefaultConfig()
			scfg.Threshold, scfg.Resize, scfg.Confirm = th, nemesis.Resize, confirm
			if floor > 0 {
				scfg.Floor = floor
			}
			if precision > 0 {
				scfg.Precision = precision
			}
			if err := scfg.Validate(); err != nil {
				return usageErr("%v", err)
			}
			res, err := store.ReadRunResult(dir)
			if err != nil {
				return usageErr("shrink: %v", err)
			}
			if res.Status != checker.Invalid {
				return usageErr("shrink: run %s is %s: only a run that broke the lock can be shrunk", dir, res.Status)
			}
			if len(res.Plan.Schedule.Events) == 0 {
				return usageErr("shrink: run %s has no fault in its schedule: there is nothing to shrink", dir)
			}
			base := replayPlan(res.Plan)
			check := base
			check.Schedule, check.ScheduleFile = res.Plan.Schedule, filepath.Join(dir, store.ResultsFile)
			if _, err := harness.Resolve(check); err != nil {
				return usageErr("shrink: the run's plan cannot be run again: %s", harness.Reason(err))
			}
			if out == "" {
				out = filepath.Join(dir, ShrunkFile)
			}
			work := filepath.Join(dir, ShrinkDir)
			if err := os.MkdirAll(work, 0o755); err != nil {
				return usageErr("shrink: %v", err)
			}
			cfg := harness.DefaultConfig()
			cfg.StoreDir = storeOf(work)
			closeRT, err := attachRuntime(cmd, &cfg, base.Target, nil)
			if err != nil {
				return err
			}
			defer closeRT()
			say := func(format string, args ...any) {
				if !quiet {
					fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
				}
			}
			sr := store.ShrinkResult{Run: dir, Threshold: th, Replays: replays, Faults: len(res.Plan.Schedule.Events), Trials: map[int][]trial{}}
			n := 0
			oracle := func(ctx context.Context, s plan.Schedule) (float64, error) {
				n++
				file := filepath.Join(work, fmt.Sprintf("candidate-%03d.json", n))
				if err := store.WriteJSON(file, s); err != nil {
					return 0, err
				}
				p := base
				p.Schedule, p.ScheduleFile = s, file
				broke := 0
				for i := 0; i < replays; i++ {
					t, err := runTrial(ctx, cfg, p)
					sr.Trials[n] = append(sr.Trials[n], t)
					if err != nil {
						return 0, err
					}
					say("  candidate %d, replay %d of %d: %s (%s)", n, i+1, replays, t.Status, t.Dir)
					if t.Broke() {
						broke++
					}
				}
				say("candidate %d: %d faults (%s): broke the lock in %d of %d replays", n, len(s.Events), faultList(s), broke, replays)
				return float64(broke) / float64(replays), nil
			}
			scfg.Step = func(st shrink.Step) {
				if st.Phase != shrink.PhaseConfirm {
					return
				}
				if st.Kept {
					say("confirmed: that was a second round of %s, and over both rounds it keeps %s", faultList(st.Schedule), threshold)
				} else {
					say("not confirmed: that was a second round of %s, and over both rounds it falls below %s; the next larger schedule kept is tried", faultList(st.Schedule), threshold)
				}
			}
			result, err := shrink.Shrink(cmd.Context(), res.Plan.Schedule, oracle, scfg)
			sr.Result = shrinkFound(result)
			if err != nil {
				sr.Error = err.Error()
				_ = store.WriteJSON(filepath.Join(work, store.ShrinkFile), sr)
				if errors.Is(err, shrink.ErrDoesNotBreak) {
					// The run's page says that it did not shrink, and why.
					if err := rewriteRunPage(dir, res); err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: the run's page was not rewritten: %v\n", err)
					}
					return &exitError{code: exitUnknown, err: fmt.Errorf("shrink: run %s: %w in %d replays (threshold %s)", dir, err, replays, threshold)}
				}
				return err
			}
			final := base
			final.Schedule, final.ScheduleFile = result.Schedule, out
			if err := store.WriteJSON(out, result.Schedule); err != nil {
				return err
			}
			sr.File, sr.Command = out, final.Command()
			if err := store.WriteJSON(filepath.Join(work, store.ShrinkFile), sr); err != nil {
				return err
			}
			// The run's page links the shrunk schedule from now on.
			if err := rewriteRunPage(dir, res); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the run's page was not rewritten: %v\n", err)
			}
			w := cmd.OutOrStdout()
			confirmed := ""
			switch {
			case scfg.Confirm && result.Confirmed:
				confirmed = ", confirmed by a second round"
			case scfg.Confirm:
				confirmed = fmt.Sprintf(", NOT confirmed: no schedule kept %s over a second round; this is the best", threshold)
			}
			tried, rounds := 0, 0
			for _, st := range result.Steps {
				if st.Phase == shrink.PhaseConfirm {
					rounds++
				} else {
					tried++
				}
			}
			after := fmt.Sprintf("after %d candidates", tried)
			if rounds > 0 {
				after += fmt.Sprintf(" and %d second round", rounds)
				if rounds > 1 {
					after += "s"
				}
			}
			fmt.Fprintf(w, "SHRUNK: %d of %d faults (%s) broke the lock in %d of %d replays (%.0f%%%s), %s\n",
				len(result.Schedule.Events), sr.Faults, faultList(result.Schedule), sr.Broke(), sr.Of(), 100*result.Rate, confirmed, after)
			fmt.Fprintf(w, "schedule: %s\n", out)
			fmt.Fprintf(w, "replay: %s\n", final.Command())
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&replays, "replays", 3, "replays of each candidate schedule")
	f.BoolVar(&confirm, "confirm", true, "replay the schedule found once more and take it only if it keeps the threshold over both rounds (--confirm=false: take the first round's)")
	f.StringVar(&threshold, "threshold", "2/3", "least violation rate a candidate must keep, as a fraction (2/3) or a number in (0, 1]")
	f.StringVar(&out, "out", "", "file for the shrunk schedule (default: RUN/"+ShrunkFile+")")
	f.DurationVar(&floor, "floor", 0, "shortest a fault is made (0: 100ms)")
	f.DurationVar(&precision, "precision", 0, "how finely a fault's length is bisected (0: 100ms)")
	f.BoolVar(&quiet, "quiet", false, "print only the result")
	return c
}

// parseRate reads a rate in (0, 1]: "2/3" or "0.67".
func parseRate(s string) (float64, error) {
	var r float64
	if a, b, ok := strings.Cut(s, "/"); ok {
		n, err1 := strconv.Atoi(strings.TrimSpace(a))
		d, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || d <= 0 {
			return 0, fmt.Errorf("want a fraction such as 2/3")
		}
		r = float64(n) / float64(d)
	} else {
		var err error
		if r, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return 0, fmt.Errorf("want a fraction such as 2/3, or a number such as 0.67")
		}
	}
	if !(r > 0 && r <= 1) {
		return 0, fmt.Errorf("must be above 0 and at most 1")
	}
	return r, nil
}

// faultList names the faults of s: "client-pause at 1.6s for 1s, ...",
// or "none".
func faultList(s plan.Schedule) string {
	if len(s.Events) == 0 {
		return "none"
	}
	var parts []string
	for _, ev := range s.Events {
		parts = append(parts, fmt.Sprintf("%s at %s for %s", ev.Nemesis, ev.Start.Round(time.Millisecond), ev.Duration.Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// shrinkFound is the search's result as shrink.json records it.
func shrinkFound(r shrink.Result) store.ShrinkFound {
	f := store.ShrinkFound{Schedule: r.Schedule, Rate: r.Rate, Rounds: r.Rounds, Confirmed: r.Confirmed}
	for _, st := range r.Steps {
		f.Steps = append(f.Steps, store.ShrinkStep{Phase: st.Phase, Schedule: st.Schedule, Rate: st.Rate, Kept: st.Kept})
	}
	return f
}

// rewriteRunPage writes the page of the run in dir again, as it was
// judged (res), now with its shrunk schedule. The history is read as
// Recheck reads it: a torn last line is the crash point.
func rewriteRunPage(dir string, res store.RunResult) error {
	h, err := history.ReadFile(filepath.Join(dir, store.HistoryFile))
	var torn *history.TruncatedError
	if err != nil && !errors.As(err, &torn) {
		return err
	}
	return harness.WriteRunDir(dir, res, h)
}
