package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

func newRunCmd() *cobra.Command {
	rf := newRunFlags()
	cfg, p := &rf.cfg, &rf.cfg.Plan
	var scheduleFile string
	c := &cobra.Command{
		Use:   "run --target T [flags]",
		Short: "Run one workload against one lock target under a nemesis, then check it",
		Example: `  lockstorm run --target inmemory --nodes 3 --time-limit 10s
  lockstorm run --target redis --nemesis client-pause --ttl 1s --time-limit 30s
  lockstorm run --target etcd --nemesis pause --seed 7
  lockstorm run --target redis --ttl 1s --time-limit 20s --schedule shrunk.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.plan(); err != nil {
				return err
			}
			if scheduleFile != "" {
				var err error
				if p.Schedule, err = readSchedule(scheduleFile); err != nil {
					return err
				}
				p.ScheduleFile = scheduleFile
				if !cmd.Flags().Changed("nemesis") {
					// The run's nemeses default to those the schedule
					// uses; Resolve refuses a name that is not registered,
					// naming the event.
					p.Nemeses = nil
					for _, name := range p.Schedule.Used() {
						if _, err := nemesis.Lookup(name); err == nil {
							p.Nemeses = append(p.Nemeses, name)
						}
					}
				}
				if !cmd.Flags().Changed("seed") && p.Schedule.Seed > 0 {
					// And the seed to the one that drew it, so that a
					// run's own schedule replays with its workload.
					p.Seed = p.Schedule.Seed
				}
			}
			if _, err := harness.Resolve(*p); err != nil {
				return flagErr(err)
			}
			if err := harness.CheckClient(*p); err != nil {
				return flagErr(err)
			}
			if err := store.CheckRoot(cfg.StoreDir); err != nil {
				return usageErr("--store: %v", err)
			}
			if !rf.quiet {
				cfg.Console = cmd.ErrOrStderr()
			}
			closeRT, err := attachRuntime(cmd, cfg, p.Target, &rf.ssh)
			if err != nil {
				return err
			}
			defer closeRT()
			res, runErr := harness.Execute(cmd.Context(), *cfg)
			if res.ID != "" {
				printVerdict(cmd.OutOrStdout(), res, filepath.Join(cfg.StoreDir, res.Cell, res.ID))
			}
			if errors.Is(runErr, harness.ErrBadConfig) {
				return flagErr(runErr)
			}
			if runErr != nil && !(errors.Is(runErr, context.Canceled) && res.ID != "") {
				return runErr
			}
			if res.Leftover != nil && res.Status != checker.Invalid {
				// What the run left on the engine outweighs a valid or
				// unknown verdict, as an infrastructure failure outweighs
				// them in a campaign.
				return &exitError{code: exitInfra, err: errors.New("the run's teardown failed: " + res.Leftover.Error)}
			}
			// An interrupted run still has a verdict on what it recorded
			// (unknown at best, since it broke off).
			return verdictErr(res.Status)
		},
	}
	rf.register(c)
	c.Flags().StringVar(&scheduleFile, "schedule", "", "run the fault schedule in this file instead of drawing one from the seed: a schedule ({\"seed\": S, \"events\": [...]}) or a run's results.json (its plan.schedule); without --nemesis, the run's nemeses are those the schedule uses, and without --seed its seed is the schedule's")
	return c
}

// runFlags are the flags of a run's plan, shared by run and margin.
type runFlags struct {
	cfg     harness.Config
	nemeses string
	judge   string
	opts    []string
	nodes   int
	quiet   bool
	ssh     sshFlags
}

func newRunFlags() *runFlags { return &runFlags{cfg: harness.DefaultConfig()} }

// register adds the flags to c.
func (rf *runFlags) register(c *cobra.Command) {
	f, p := c.Flags(), &rf.cfg.Plan
	f.StringVar(&p.Target, "target", "", "lock implementation to test (see 'lockstorm targets')")
	f.StringVar(&p.Client, "client", "", "who speaks to the service: process (lockstorm's Go binding as client processes, the default), go (the same binding in the harness's process), or the command of your own protocol client (docs/protocol.md)")
	f.StringVar(&p.Workload, "workload", p.Workload, "what the clients do (see 'lockstorm workloads')")
	f.StringVar(&p.Variant, "variant", "", "workload variant, e.g. lock or idempotency-key for payment (see 'lockstorm workloads')")
	f.StringVar(&rf.nemeses, "nemesis", "none", "comma-separated faults to inject (see 'lockstorm nemeses'), or none")
	f.DurationVar(&p.TimeLimit, "time-limit", p.TimeLimit, "how long the workload runs")
	f.IntVar(&p.Concurrency, "concurrency", p.Concurrency, "number of client workers")
	f.Float64Var(&p.Rate, "rate", p.Rate, "lock attempts per second over all workers (0: unlimited)")
	f.DurationVar(&p.NemesisInterval, "nemesis-interval", p.NemesisInterval, "time from one fault's start to the next")
	f.Int64Var(&p.Seed, "seed", 0, "seed for the fault schedule and the workload (0: pick one and print it)")
	f.IntVar(&rf.nodes, "nodes", 0, "number of server nodes (0: the target's default)")
	f.DurationVar(&p.TTL, "ttl", 0, "lease length asked for on each acquire (0: 2s)")
	f.DurationVar(&p.Wait, "wait", 0, "how long one acquire may wait and retry (0: the ttl, at least 1s)")
	f.Var(holdFlag{&p.Hold}, "hold", "simulated work inside the critical section (auto: 20ms, half the lease the servers grant for a lock whose lease runs out, 2.5 leases for a lock whose lease is renewed)")
	f.IntVar(&p.Keys, "keys", p.Keys, "number of distinct lock keys")
	f.BoolVar(&p.Fencing, "fencing", false, "make the resource reject writes with stale fencing tokens")
	f.DurationVar(&p.StopAfterViolation, "stop-after-violation", 0, "end the workload this long after the first violation shown while it runs, then heal, probe, tear down and check as usual (0: run the whole time limit)")
	f.StringVar(&rf.judge, "judge", "", "comma-separated checkers whose verdicts decide the run and its exit code, as a campaign cell's judge: (e.g. fencing; default: every checker); the others still run and are reported")
	f.StringArrayVar(&rf.opts, "opt", nil, "target, workload or nemesis option name=value (repeatable), e.g. kill.restart-delay=0s")
	f.StringVar(&rf.cfg.StoreDir, "store", rf.cfg.StoreDir, "store directory for run output")
	f.DurationVar(&p.CheckBudget, "check-budget", 0, "time budget of the linearizability search (0: 60s)")
	f.BoolVar(&rf.quiet, "quiet", false, "print only the verdict")
	rf.ssh.register(c)
}

// plan puts the flags that need parsing into the plan: the options, the
// nemeses and the nodes; the target is required.
func (rf *runFlags) plan() error {
	p := &rf.cfg.Plan
	var err error
	if p.Options, err = parseOpts(rf.opts); err != nil {
		return err
	}
	if p.Target == "" {
		return usageErr("--target is required (valid: %s)", strings.Join(targets.Names(), ", "))
	}
	p.Nemeses = nemesis.Split(rf.nemeses)
	p.Judge = splitList(rf.judge)
	if rf.nodes < 0 || rf.nodes > plan.MaxNodes {
		return usageErr("--nodes %d must be 1..%d", rf.nodes, plan.MaxNodes)
	}
	p.Nodes = nil
	for i := 1; i <= rf.nodes; i++ {
		p.Nodes = append(p.Nodes, plan.Node{Name: runtime.NodeName(i)})
	}
	return nil
}

// flagErr turns an error of harness.Resolve into a usage error that names
// the flag.
func flagErr(err error) error {
	var fe *plan.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "opt" {
			return usageErr("--opt %s", fe.Msg)
		}
		return usageErr("--%s %s", fe.Field, fe.Msg)
	}
	return usageErr("%s", harness.Reason(err))
}

// openRuntime opens the Docker runtime when target runs in containers; a
// target that runs in process needs none. The node image's input from the
// environment is checked first, before the engine is asked anything. Node
// image builds report to progress.
func openRuntime(ctx context.Context, progress io.Writer, names ...string) (runtime.Runtime, func(), error) {
	need := false
	for _, name := range names {
		if t, err := targets.Lookup(name); err == nil && !targets.IsLocal(t) {
			need = true
		}
	}
	if !need {
		return nil, func() {}, nil
	}
	if _, err := docker.EngineTimeout(); err != nil {
		return nil, nil, usageErr("%v", err)
	}
	if err := checkImageInput(); err != nil {
		return nil, nil, err
	}
	d, err := docker.New(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
	}
	d.BuildOutput = progress
	return d, func() { _ = d.Close() }, nil
}

// attachRuntime opens the runtime that target needs (none for a target
// that runs in process) into cfg, with the lockstorm binary that the client
// containers run; the returned func closes it.
//
// With sf naming an inventory (--hosts), the runtime is the SSH runtime
// over its hosts, instead of Docker.
func attachRuntime(cmd *cobra.Command, cfg *harness.Config, target string, sf *sshFlags) (func(), error) {
	open := openRuntime
	if sf != nil && sf.hosts != "" {
		open = func(ctx context.Context, _ io.Writer, names ...string) (runtime.Runtime, func(), error) {
			return openSSHFor(ctx, sf.hosts, sf.acceptNew, names...)
		}
	}
	rt, closeRT, err := open(cmd.Context(), cmd.ErrOrStderr(), target)
	if err != nil {
		return nil, err
	}
	cfg.Runtime = rt
	if cfg.ClientBinary, err = os.Executable(); err != nil {
		closeRT()
		return nil, fmt.Errorf("%w: find the lockstorm binary: %v", harness.ErrInfrastructure, err)
	}
	return closeRT, nil
}

// holdFlag is --hold: a duration, or "auto" for plan.HoldAuto.
type holdFlag struct{ d *time.Duration }

func (h holdFlag) String() string {
	if h.d == nil || *h.d == plan.HoldAuto {
		return "auto"
	}
	return h.d.String()
}

func (h holdFlag) Set(s string) error {
	if strings.TrimSpace(s) == "auto" {
		*h.d = plan.HoldAuto
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 500ms, or auto")
	}
	if d < 0 {
		return fmt.Errorf("%s must not be negative", s)
	}
	*h.d = d
	return nil
}

func (holdFlag) Type() string { return "duration|auto" }

// splitList splits a comma-separated list, trimming spaces and dropping
// empty names; nil for none.
func splitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// parseOpts turns --opt name=value flags into a map.
func parseOpts(opts []string) (option.Values, error) {
	m := option.Values{}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr("--opt %q: want name=value", o)
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, nil
}

// verdictErr turns a verdict into the exit code of the command.
func verdictErr(s checker.Status) error {
	switch s {
	case checker.Valid:
		return nil
	case checker.Invalid:
		return &exitError{code: exitInvalid, err: fmt.Errorf("invalid")}
	}
	return &exitError{code: exitUnknown, err: fmt.Errorf("unknown")}
}

func printVerdict(w io.Writer, res store.RunResult, dir string) {
	word := strings.ToUpper(string(res.Status))
	if len(res.Plan.Judge) > 0 {
		word += " by " + strings.Join(res.Plan.Judge, ", ")
	}
	fmt.Fprintf(w, "%s: %s\n", word, res.Summary)
	printNoFaults(w, res)
	printResults(w, res.Results)
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n.Text)
	}
	if l := res.Leftover; l != nil {
		fmt.Fprintf(w, "  teardown failed: %s\n  its containers and network (label %s) may be left: remove them with `%s`\n", l.Error, l.Label, l.Command)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(dir, store.IndexFile))
	fmt.Fprintf(w, "reproduce: %s\n", res.Command)
}

// printNoFaults warns, under the verdict, that the nemeses asked for never
// struck: the verdict is then no evidence of safety under them.
func printNoFaults(w io.Writer, res store.RunResult) {
	if res.NoFaults != "" {
		fmt.Fprintf(w, "  WARNING: no fault struck (%s); this run is no evidence of safety under %s\n",
			res.NoFaults, strings.Join(res.Plan.Nemeses, ", "))
	}
}
