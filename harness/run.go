package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// A run carries the state of one Execute call between its phases.
type run struct {
	cfg      Config
	dir      string
	log      *slog.Logger
	logFile  *os.File
	target   targets.Target
	workload workloads.Workload
	nemeses  []nemesis.Nemesis
	cluster  runtime.Cluster
	rt       runtime.Runtime
	nodes    []string
	rec      *history.Recorder
	faults   *workloads.ClientFaults
	res      store.RunResult
	began    time.Time
}

// Execute performs one run and writes its directory in the store: history,
// results, report and logs. It returns the run's result, whose Status is
// the verdict. An error means the run could not be carried out as asked
// (wrapped ErrBadConfig or ErrInfrastructure); the history recorded up to
// then is still checked and written, and res describes it.
//
// Everything the run creates (containers, networks, iptables rules inside
// the nodes) is removed before Execute returns, also when ctx is cancelled
// (Ctrl-C) or the workload panics.
func Execute(ctx context.Context, cfg Config) (res store.RunResult, err error) {
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	cfg = cfg.withDefaults()
	r := &run{cfg: cfg, began: time.Now(), faults: workloads.NewClientFaults()}
	if err := r.resolve(); err != nil {
		return res, err
	}
	if err := r.open(); err != nil {
		return res, err
	}
	defer r.closeLog()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("run panicked: %v", p)
			r.log.Error("panic", "value", p, "stack", string(debug.Stack()))
			r.teardown()
			r.finish(err)
			res = r.res
		}
	}()
	err = r.execute(ctx)
	r.teardown()
	r.finish(err)
	return r.res, err
}

// resolve finds the target, workload and nemeses by name.
func (r *run) resolve() error {
	rc := &r.cfg.Run
	if err := CheckOptions(rc.Options); err != nil {
		return fmt.Errorf("%w: --opt %v", ErrBadConfig, err)
	}
	var err error
	if r.target, err = targets.Lookup(rc.Target); err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if r.workload, err = workloads.Lookup(rc.Workload); err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if v, ok := r.workload.(interface{ Validate(workloads.Config) error }); ok {
		// The target is not up yet, so the asked-for TTL stands in for its
		// lease.
		if err := v.Validate(r.workloadConfig(rc.TTL)); err != nil {
			return fmt.Errorf("%w: workload %s: %v", ErrBadConfig, rc.Workload, err)
		}
	} else if rc.Variant != "" {
		return fmt.Errorf("%w: workload %s has no variants (--variant %q)", ErrBadConfig, rc.Workload, rc.Variant)
	}
	if r.nemeses, err = nemesis.Parse(joinNames(rc.Nemeses)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	rc.Nemeses = nil
	for _, n := range r.nemeses {
		rc.Nemeses = append(rc.Nemeses, n.Name())
	}
	if rc.Nodes == 0 {
		rc.Nodes = r.target.DefaultNodes()
	}
	if rc.Seed == 0 {
		rc.Seed = rand.New(rand.NewSource(time.Now().UnixNano())).Int63n(1<<31-1) + 1
	}
	for i := 1; i <= rc.Nodes; i++ {
		r.nodes = append(r.nodes, runtime.NodeName(i))
	}
	// Draw a schedule now, before anything starts, so that a bad nemesis
	// option is a usage error and not a broken run. The run draws it again
	// with the target's real lease once the target is up.
	if _, err := schedule.Generate(schedule.Config{
		Seed: rc.Seed, Interval: rc.NemesisInterval, TimeLimit: rc.TimeLimit,
		Nodes: r.nodes, TTL: rc.TTL, Opts: rc.Options,
	}, nemesis.Planners(r.nemeses)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	return nil
}

// open creates the run directory, the log and the history.
func (r *run) open() error {
	rc := r.cfg.Run
	cell := store.CellName(rc.Target, WorkloadLabel(rc), rc.Nemeses)
	dir, id, err := store.NewRunDir(r.cfg.StoreDir, cell, r.began)
	if err != nil {
		return err
	}
	r.dir = dir
	if r.logFile, err = os.Create(filepath.Join(dir, store.LogFile)); err != nil {
		return fmt.Errorf("create run log: %w", err)
	}
	r.log = newLogger(r.logFile, r.cfg.Console)
	if r.rec, err = history.CreateFile(filepath.Join(dir, store.HistoryFile), r.began); err != nil {
		return err
	}
	r.res = store.RunResult{
		ID: id, Cell: cell, Config: rc, Started: r.began, FirstViolation: -1,
		Command: r.cfg.Command,
	}
	if r.res.Command == "" {
		r.res.Command = ReproduceCommand(rc)
	}
	for _, text := range unusedOptions(rc.Options, rc.Target, rc.Workload, rc.Nemeses) {
		r.res.Notes = append(r.res.Notes, store.Note{Kind: "unused-option", Text: text})
	}
	// A results.json from the start, so that the history of a run that is
	// killed can still be judged with its configuration.
	pre := r.res
	pre.Status = "unknown"
	pre.Error = "the run did not finish"
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), pre); err != nil {
		return err
	}
	r.log.Info("run", "dir", dir, "seed", rc.Seed, "reproduce", r.res.Command)
	for _, n := range r.res.Notes {
		r.log.Warn(n.Text)
	}
	return nil
}

func (r *run) closeLog() {
	if r.logFile != nil {
		_ = r.logFile.Close()
	}
}

// phase logs the start of a phase and returns a func that logs its end.
func (r *run) phase(name string) func() {
	if r.cfg.Phase != nil {
		r.cfg.Phase(name)
	}
	start := time.Now()
	r.log.Info("phase start", "phase", name)
	return func() {
		r.log.Info("phase done", "phase", name, "took", time.Since(start).Round(time.Millisecond))
	}
}

// execute runs the phases up to the end of the liveness probe.
func (r *run) execute(ctx context.Context) error {
	rc := &r.cfg.Run
	if !targets.IsLocal(r.target) {
		done := r.phase("cluster")
		err := r.startCluster(ctx)
		done()
		if err != nil {
			return err
		}
	}
	done := r.phase("setup")
	env := &targets.Env{
		Cluster: r.cluster, Nodes: r.nodes, Log: r.log,
		Opts: targets.Options{TTL: rc.TTL, Wait: r.cfg.Wait, Extra: rc.Options},
	}
	if err := r.target.Setup(ctx, env); err != nil {
		done()
		if errors.Is(err, targets.ErrBadOption) {
			return fmt.Errorf("%w: %v", ErrBadConfig, err)
		}
		return fmt.Errorf("%w: set up %s: %v", ErrInfrastructure, rc.Target, err)
	}
	done()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.resolveHold()
	nenv := &nemesis.Env{
		Cluster: r.cluster, Target: r.target, Nodes: r.nodes, Faults: r.faults,
		TTL: r.target.Lease(), Opts: rc.Options, Log: r.log,
	}
	active := r.applicable(nenv)
	sched, err := schedule.Generate(schedule.Config{
		Seed: rc.Seed, Interval: rc.NemesisInterval, TimeLimit: rc.TimeLimit,
		Nodes: r.nodes, TTL: r.target.Lease(), Opts: rc.Options,
	}, nemesis.Planners(active))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	r.res.Schedule = sched
	r.noteFencing()
	runner := &nemesis.Runner{Env: nenv, Recorder: r.rec, Nemeses: active, Schedule: sched}
	werr := r.runWorkload(ctx, runner)

	done = r.phase("heal")
	healCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	herr := runner.HealAll(healCtx)
	cancel()
	done()
	if werr != nil || ctx.Err() != nil {
		return errors.Join(werr, herr, ctx.Err())
	}
	done = r.phase("quiesce")
	sleepCtx(ctx, r.quiesce())
	done()
	done = r.phase("liveness")
	perr := r.probe(ctx)
	done()
	return errors.Join(herr, perr)
}

// resolveHold turns --hold auto into DefaultHold for the target's lease as
// the servers granted it in Setup (etcd rounds the TTL up to whole
// seconds, ZooKeeper negotiates its session timeout), and writes the
// figure into the results and the reproduce command.
func (r *run) resolveHold() {
	rc := &r.cfg.Run
	if rc.Hold != HoldAuto {
		return
	}
	rc.Hold = DefaultHold(targets.ExpiryOf(r.target), r.target.Lease())
	r.res.Config.Hold = rc.Hold
	if r.cfg.Command == "" {
		r.res.Command = ReproduceCommand(*rc)
	}
	r.log.Info("hold", "auto", rc.Hold, "lease", r.target.Lease())
}

// runWorkload runs the workload for the time limit with the nemesis beside
// it.
func (r *run) runWorkload(ctx context.Context, runner *nemesis.Runner) error {
	defer r.phase("workload")()
	rc := r.cfg.Run
	wctx, cancel := context.WithTimeout(ctx, rc.TimeLimit)
	defer cancel()
	begin := time.Now()
	var nerr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nerr = runner.Run(wctx, begin)
	}()
	wenv := &workloads.Env{
		Target: r.target, Recorder: r.rec, Faults: r.faults, Log: r.log,
		Config: r.workloadConfig(r.target.Lease()),
	}
	werr := r.workload.Run(wctx, wenv)
	cancel()
	wg.Wait()
	if nerr != nil {
		r.log.Warn("nemesis", "err", nerr)
	}
	if werr != nil {
		return fmt.Errorf("workload %s: %w", rc.Workload, werr)
	}
	return nil
}

// workloadConfig is the workload's view of the run, with lease as the TTL
// its acquires record.
func (r *run) workloadConfig(lease time.Duration) workloads.Config {
	rc := r.cfg.Run
	return workloads.Config{
		Concurrency: rc.Concurrency, Rate: rc.Rate, Hold: rc.Hold, Keys: rc.Keys,
		TTL: lease, OpTimeout: r.cfg.OpTimeout, Fencing: rc.Fencing,
		Seed: rc.Seed, Variant: rc.Variant, Extra: rc.Options,
	}
}

// applicable keeps the nemeses that can act on the target and notes the
// others in the results.
func (r *run) applicable(env *nemesis.Env) []nemesis.Nemesis {
	var out []nemesis.Nemesis
	for _, n := range r.nemeses {
		if err := n.Applicable(env); err != nil {
			r.res.Notes = append(r.res.Notes, store.Note{Kind: "not-applicable", Text: fmt.Sprintf("Nemesis %s: %v.", n.Name(), err)})
			r.log.Warn("nemesis not applicable", "nemesis", n.Name(), "why", err)
			continue
		}
		out = append(out, n)
	}
	return out
}

// noteFencing says in the results when fencing was asked for but the target
// has no tokens.
func (r *run) noteFencing() {
	if !r.cfg.Run.Fencing {
		return
	}
	if f, ok := r.target.(targets.Fencer); ok && f.HasTokens() {
		return
	}
	r.res.Notes = append(r.res.Notes, store.Note{Kind: "fencing-unavailable", Text: fmt.Sprintf(
		"Fencing was asked for, but %s gives no fencing tokens, so the resource could not reject stale writes.", r.target.Name())})
}

// quiesce is how long the run waits after the final heal before probing.
func (r *run) quiesce() time.Duration {
	q := r.target.Lease()
	if q > 10*time.Second {
		q = 10 * time.Second
	}
	if q < time.Second {
		q = time.Second
	}
	return q
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func newLogger(file *os.File, console interface{ Write([]byte) (int, error) }) *slog.Logger {
	fileH := slog.NewTextHandler(file, &slog.HandlerOptions{Level: slog.LevelDebug})
	if console == nil {
		return slog.New(fileH)
	}
	return slog.New(teeHandler{fileH, slog.NewTextHandler(console, &slog.HandlerOptions{Level: slog.LevelInfo})})
}
