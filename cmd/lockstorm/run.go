package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

func newRunCmd() *cobra.Command {
	cfg := harness.DefaultConfig()
	var nemeses string
	var opts []string
	var quiet bool
	c := &cobra.Command{
		Use:   "run --target T [flags]",
		Short: "Run one workload against one lock target under a nemesis, then check it",
		Example: `  lockstorm run --target inmemory --nodes 3 --time-limit 10s
  lockstorm run --target redis --nemesis client-pause --ttl 1s --time-limit 30s
  lockstorm run --target etcd --nemesis pause --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Run.Options, err = parseOpts(opts); err != nil {
				return err
			}
			if err := checkNames(cfg.Run.Target, cfg.Run.Workload, nemeses); err != nil {
				return err
			}
			cfg.Run.Nemeses = splitList(nemeses)
			if !quiet {
				cfg.Console = cmd.ErrOrStderr()
			}
			res, runErr := harness.Execute(cmd.Context(), cfg)
			if res.ID != "" {
				printVerdict(cmd.OutOrStdout(), res, filepath.Join(cfg.StoreDir, res.Cell, res.ID))
			}
			if runErr != nil && !(errors.Is(runErr, context.Canceled) && res.ID != "") {
				return runErr
			}
			// An interrupted run still has a verdict on what it recorded
			// (unknown at best, since it broke off).
			return verdictErr(res.Status)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Run.Target, "target", "", "lock implementation to test (see `lockstorm targets`)")
	f.StringVar(&cfg.Run.Workload, "workload", cfg.Run.Workload, "what the clients do (see `lockstorm workloads`)")
	f.StringVar(&cfg.Run.Variant, "variant", "", "workload variant, e.g. lock or idempotency-key for payment (see `lockstorm workloads`)")
	f.StringVar(&nemeses, "nemesis", "none", "comma-separated faults to inject (see `lockstorm nemeses`), or none")
	f.DurationVar(&cfg.Run.TimeLimit, "time-limit", cfg.Run.TimeLimit, "how long the workload runs")
	f.IntVar(&cfg.Run.Concurrency, "concurrency", cfg.Run.Concurrency, "number of client workers")
	f.Float64Var(&cfg.Run.Rate, "rate", cfg.Run.Rate, "lock attempts per second over all workers (0: unlimited)")
	f.DurationVar(&cfg.Run.NemesisInterval, "nemesis-interval", cfg.Run.NemesisInterval, "time from one fault's start to the next")
	f.Int64Var(&cfg.Run.Seed, "seed", 0, "seed for the fault schedule and the workload (0: pick one and print it)")
	f.IntVar(&cfg.Run.Nodes, "nodes", 0, "number of server nodes (0: the target's default)")
	f.DurationVar(&cfg.Run.TTL, "ttl", 0, "lease length asked for on each acquire (0: 2s)")
	f.DurationVar(&cfg.Wait, "wait", 0, "how long one acquire may wait and retry (0: the ttl, at least 1s)")
	f.Var(holdFlag{&cfg.Run.Hold}, "hold", "simulated work inside the critical section (auto: 20ms, half the TTL for a TTL lock, 2.5 leases for a lock whose lease is renewed)")
	f.IntVar(&cfg.Run.Keys, "keys", cfg.Run.Keys, "number of distinct lock keys")
	f.BoolVar(&cfg.Run.Fencing, "fencing", false, "make the resource reject writes with stale fencing tokens")
	f.StringArrayVar(&opts, "opt", nil, "target, workload or nemesis option name=value (repeatable), e.g. kill.restart-delay=0s")
	f.StringVar(&cfg.StoreDir, "store", cfg.StoreDir, "store directory for run output")
	f.DurationVar(&cfg.CheckBudget, "check-budget", 0, "time budget of the linearizability search (0: 60s)")
	f.BoolVar(&quiet, "quiet", false, "print only the verdict")
	return c
}

// holdFlag is --hold: a duration, or "auto" for harness.HoldAuto.
type holdFlag struct{ d *time.Duration }

func (h holdFlag) String() string {
	if h.d == nil || *h.d == harness.HoldAuto {
		return "auto"
	}
	return h.d.String()
}

func (h holdFlag) Set(s string) error {
	if strings.TrimSpace(s) == "auto" {
		*h.d = harness.HoldAuto
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

// checkNames validates names before anything starts, so that a typo is a
// usage error listing the valid names.
func checkNames(target, workload, nemeses string) error {
	if target == "" {
		return usageErr("--target is required (valid: %s)", strings.Join(targets.Names(), ", "))
	}
	if _, err := targets.Lookup(target); err != nil {
		return usageErr("--target: %v", err)
	}
	if _, err := workloads.Lookup(workload); err != nil {
		return usageErr("--workload: %v", err)
	}
	if _, err := nemesis.Parse(nemeses); err != nil {
		return usageErr("--nemesis: %v", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "none" {
			out = append(out, p)
		}
	}
	return out
}

// parseOpts turns --opt name=value flags into a map.
func parseOpts(opts []string) (map[string]string, error) {
	m := map[string]string{}
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
	fmt.Fprintf(w, "%s: %s\n", strings.ToUpper(string(res.Status)), res.Summary)
	for _, r := range res.Results {
		fmt.Fprintf(w, "  %-17s %-8s %s\n", r.Checker, r.Status, r.Summary)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n.Text)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(dir, store.IndexFile))
	fmt.Fprintf(w, "reproduce: %s\n", res.Command)
}
