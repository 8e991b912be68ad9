package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/process"
	"github.com/lockstorm/lockstorm/workloads"
)

// A run carries the state of one Execute call between its phases.
type run struct {
	cfg Config
	*Resolved
	dir     string
	log     *slog.Logger
	logFile *os.File
	cluster runtime.Cluster
	pool    *process.Pool // the client processes; nil for Go clients
	rec     *history.Recorder
	faults  *workloads.ClientFaults
	res     store.RunResult
	began   time.Time
}

// Execute performs one run and writes its directory in the store: history,
// results, report and logs. It returns the run's result, whose Status is
// the verdict. An error means the run could not be carried out as asked
// (wrapped ErrBadConfig, before anything started, or ErrInfrastructure);
// the history recorded up to then is still checked and written, and res
// describes it.
//
// Everything the run creates (containers, networks, iptables rules inside
// the nodes) is removed before Execute returns, also when ctx is cancelled
// (Ctrl-C) or the workload panics.
func Execute(ctx context.Context, cfg Config) (res store.RunResult, err error) {
	resolved, err := Resolve(cfg.Plan)
	if err != nil {
		return res, err
	}
	if err := CheckClient(resolved.Plan); err != nil {
		return res, err
	}
	if cfg.StoreDir == "" {
		cfg.StoreDir = store.DefaultDir
	}
	// A server to build or check before the node image: a version that
	// does not exist is refused before the minutes an image build takes.
	var provided []string
	say := consoleSay(cfg)
	// The phases before the run's clock starts, timed all the same.
	var early []store.Phase
	timed := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		early = append(early, store.Phase{Name: name, Seconds: time.Since(start).Seconds()})
		return err
	}
	provision := func() error {
		return Provision(ctx, resolved, func(line string) {
			provided = append(provided, line)
			say(line)
		})
	}
	if _, ok := resolved.Service.(targets.Provisioner); ok {
		if err := timed("provision", provision); err != nil {
			return res, err
		}
	} else if err := provision(); err != nil {
		return res, err
	}
	if !targets.IsLocal(resolved.Service) {
		if cfg.Runtime == nil {
			return res, fmt.Errorf("%w: target %s runs in containers, and no runtime was given", ErrInfrastructure, resolved.Plan.Target)
		}
		// The node image first: building it takes minutes the first time,
		// and that is no part of the run, whose clock starts below.
		if ip, ok := cfg.Runtime.(runtime.ImageProvider); ok {
			if cfg.Phase != nil {
				cfg.Phase("image")
			}
			if err := timed("image", func() error { _, err := ip.NodeImage(ctx); return err }); err != nil {
				return res, fmt.Errorf("%w: %w", ErrInfrastructure, err)
			}
		}
	}
	r := &run{cfg: cfg, Resolved: resolved, began: time.Now(), faults: workloads.NewClientFaults()}
	if err := r.open(); err != nil {
		return res, err
	}
	defer r.closeLog()
	r.res.Phases = append(early, r.res.Phases...)
	for _, line := range provided {
		r.log.Info("server executable", "said", line)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("run panicked: %v", p)
			r.log.Error("panic", "value", p, "stack", string(debug.Stack()))
			r.teardown()
			r.finish(err)
			res = r.res
		}
	}()
	ctx, stopWatch := watchEngine(ctx, cfg.Runtime)
	defer stopWatch()
	err = engineCause(ctx, r.execute(ctx))
	if cfg.Released != nil {
		cfg.Released(err)
	}
	r.teardown()
	r.finish(err)
	return r.res, err
}

// open creates the run directory, the log and the history, and writes a
// first results.json, so that the history of a run that is killed can
// still be judged with its plan.
func (r *run) open() error {
	p := &r.Plan
	cell := store.CellName(p.Target, p.WorkloadLabel(), p.Nemeses)
	dir, id, err := store.NewRunDir(r.cfg.StoreDir, cell, r.began)
	if err != nil {
		return err
	}
	r.dir = dir
	// The run directory is new: its files are created, never opened
	// through something already there.
	if r.logFile, err = os.OpenFile(filepath.Join(dir, store.LogFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		return fmt.Errorf("create run log: %w", err)
	}
	r.log = newLogger(r.logFile, r.cfg.Console)
	// Held until closeLog: what tells `lockstorm serve` the run is running.
	if err := store.LockRun(r.logFile); err != nil {
		r.log.Warn("the run cannot be shown as running", "err", err)
	}
	if r.rec, err = history.CreateFile(filepath.Join(dir, store.HistoryFile), r.began); err != nil {
		return err
	}
	r.res = store.RunResult{
		ID: id, Cell: cell, Campaign: r.cfg.Campaign, Plan: *p, Started: r.began, FirstViolation: -1,
		Command: p.Command(), Notes: r.Notes,
	}
	pre := r.res
	pre.Status = "unknown"
	pre.Error = "the run did not finish"
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), pre); err != nil {
		return err
	}
	r.log.Info("run", "dir", dir, "seed", p.Seed, "reproduce", r.res.Command)
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

// phase logs the start of a phase and returns a func that logs its end
// and records how long it took in the results (RunResult.Phases).
func (r *run) phase(name string) func() {
	if r.cfg.Phase != nil {
		r.cfg.Phase(name)
	}
	start := time.Now()
	r.log.Info("phase start", "phase", name)
	return func() {
		took := time.Since(start)
		r.res.Phases = append(r.res.Phases, store.Phase{Name: name, Seconds: took.Seconds()})
		r.log.Info("phase done", "phase", name, "took", took.Round(time.Millisecond))
	}
}

// execute runs the phases up to the end of the liveness probe.
func (r *run) execute(ctx context.Context) error {
	if !targets.IsLocal(r.Service) {
		done := r.phase("cluster")
		err := r.startCluster(ctx)
		done()
		if err != nil {
			return err
		}
	}
	done := r.phase("setup")
	lease, err := r.Service.Setup(ctx, &targets.Env{Cluster: r.cluster, Plan: &r.Plan, Log: r.log})
	done()
	if err != nil {
		return fmt.Errorf("%w: set up %s: %w", ErrInfrastructure, r.Plan.Target, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.askVersion(ctx)
	r.granted(lease)
	nenv := &nemesis.Env{Cluster: r.cluster, Service: r.Service, Plan: &r.Plan, Faults: r.faults, Log: r.log}
	runner := &nemesis.Runner{Env: nenv, Recorder: r.rec, Nemeses: r.Nemeses, Schedule: r.Plan.Schedule}
	if err := r.prepareNemeses(ctx, runner); err != nil {
		return err
	}
	if r.cluster != nil && r.Plan.Client != plan.ClientGo {
		done := r.phase("clients")
		err := r.startClients(ctx)
		done()
		if err != nil {
			r.healAll(ctx, runner)
			return err
		}
	}
	if r.pool != nil {
		nenv.ClientOf = r.pool.Container
	}
	if r.rec != nil {
		nenv.Now = r.rec.Now
	}
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
	wait.Sleep(ctx, r.quiesce())
	done()
	done = r.phase("liveness")
	perr := r.probe(ctx)
	done()
	return errors.Join(herr, perr)
}

// prepareNemeses lets the nemeses that must be in place before any
// client connects (nemesis.Preparer) prepare. If one fails, what the
// others did is torn down.
func (r *run) prepareNemeses(ctx context.Context, runner *nemesis.Runner) error {
	var preps []nemesis.Nemesis
	for _, n := range r.Nemeses {
		if _, ok := n.(nemesis.Preparer); ok {
			preps = append(preps, n)
		}
	}
	if len(preps) == 0 {
		return nil
	}
	done := r.phase("prepare")
	defer done()
	for _, n := range preps {
		if err := n.(nemesis.Preparer).Prepare(ctx, runner.Env); err != nil {
			r.healAll(ctx, runner)
			return fmt.Errorf("%w: prepare %s: %w", ErrInfrastructure, n.Describe().Name, err)
		}
	}
	return nil
}

// healAll tears the nemeses down after a failure before the workload ran.
func (r *run) healAll(ctx context.Context, runner *nemesis.Runner) {
	healCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := runner.HealAll(healCtx); err != nil {
		r.log.Warn("tear the nemeses down", "err", err)
	}
}

// granted takes in the lease the servers granted in Setup and the ports
// clients dial. A lease that differs from the one the plan expected (a
// ZooKeeper ensemble that negotiated another session timeout) replaces
// it, with a note, and so does the hold sized from it.
func (r *run) granted(lease time.Duration) {
	p := &r.Plan
	ports := r.Service.Describe().Ports
	for i := range p.Nodes {
		p.Nodes[i].Ports = ports
	}
	if lease != p.Lease {
		text := fmt.Sprintf("The servers granted a lease of %s where %s was expected for --ttl %s; the checkers use %s.", lease, p.Lease, p.TTL, lease)
		r.res.Notes = append(r.res.Notes, store.Note{Kind: "lease", Text: text})
		r.log.Warn(text)
		p.Lease = lease
		if p.HoldAuto {
			p.Hold = DefaultHold(targets.ExpiryOf(r.Service), lease)
		}
	}
	r.res.Plan, r.res.Command = *p, p.Command()
	r.log.Info("lease", "asked", p.TTL, "granted", p.Lease, "hold", p.Hold)
}

// runWorkload runs the workload for the time limit with the nemesis beside
// it, or until the grace after a violation shown while it runs, when the
// plan asks for that (Plan.StopAfterViolation).
func (r *run) runWorkload(ctx context.Context, runner *nemesis.Runner) error {
	defer r.phase("workload")()
	p := &r.Plan
	wctx, cancel := context.WithTimeout(ctx, p.TimeLimit)
	defer cancel()
	begin := time.Now()
	r.res.WorkloadStart = int64(begin.Sub(r.began))
	var nerr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nerr = runner.Run(wctx, begin)
	}()
	wenv := &workloads.Env{Plan: p, NewClient: r.newClient, Recorder: r.rec, Faults: r.faults, Log: r.log}
	_, usesStore := r.Workload.(workloads.StoreUser)
	if st, ok := targets.StockerOf(r.Service); ok && usesStore {
		wenv.NewStore, wenv.Decrements = r.storeFor(st), st.Decrements()
	}
	stoppedAt := r.watchViolations(wctx, cancel)
	werr := r.Workload.Run(wctx, wenv)
	cancel()
	wg.Wait()
	if at := stoppedAt(); at > 0 {
		r.res.StoppedEarlyAt = at
		r.log.Info("workload stopped early", "at", history.FormatTime(at), "after the first violation by", p.StopAfterViolation)
	}
	if nerr != nil {
		r.log.Warn("nemesis", "err", nerr)
	}
	if werr != nil {
		return fmt.Errorf("%w: workload %s: %w", ErrInfrastructure, p.Workload, werr)
	}
	return nil
}

// newClient returns a client for process: a client process of the pool,
// or the service's Go binding in the harness, talking first to the node
// the plan assigns it.
func (r *run) newClient(ctx context.Context, process int) (targets.Client, error) {
	if r.pool != nil {
		return r.pool.NewClient(ctx, process)
	}
	return r.Service.Binding().NewClient(ctx, targets.ClientEnv{
		Plan: &r.Plan, Process: process, Node: r.Plan.NodeFor(process), Log: r.log,
	})
}

// storeFor returns the connections to st's data store for the workload:
// from the harness, on the node the plan assigns each process (the
// first node for the workload's own process, -1).
func (r *run) storeFor(st targets.Stocker) func(context.Context, int) (targets.Store, error) {
	return func(ctx context.Context, process int) (targets.Store, error) {
		node := r.Plan.NodeFor(max(process, 0))
		return st.NewStore(ctx, targets.ClientEnv{Plan: &r.Plan, Process: process, Node: node, Log: r.log})
	}
}

// startClients readies the client containers for the plan's client
// processes: the client's files copied in, the directories made.
func (r *run) startClients(ctx context.Context) error {
	cmd, files, err := process.Command(&r.Plan)
	if err != nil {
		return fmt.Errorf("%w: client: %v", ErrBadConfig, err)
	}
	pp := &process.Pool{Cluster: r.cluster, Plan: &r.Plan, Keys: r.Workload.Keys(&r.Plan), Command: cmd,
		Name: r.Plan.Client, Log: r.log}
	for _, c := range r.cluster.Clients() {
		pp.Containers = append(pp.Containers, c.Name)
	}
	if len(pp.Containers) == 0 {
		return fmt.Errorf("%w: the cluster has no client containers", ErrInfrastructure)
	}
	if err := pp.Prepare(ctx, files); err != nil {
		return fmt.Errorf("%w: %w", ErrInfrastructure, err)
	}
	r.pool = pp
	r.log.Info("client processes", "client", r.Plan.Client, "command", strings.Join(cmd, " "), "containers", len(pp.Containers))
	return nil
}

// quiesce is how long the run waits after the final heal before probing.
func (r *run) quiesce() time.Duration {
	return min(max(r.Plan.Lease, time.Second), 10*time.Second)
}

func newLogger(file *os.File, console interface{ Write([]byte) (int, error) }) *slog.Logger {
	fileH := slog.NewTextHandler(file, &slog.HandlerOptions{Level: slog.LevelDebug})
	if console == nil {
		return slog.New(fileH)
	}
	return slog.New(teeHandler{fileH, slog.NewTextHandler(console, &slog.HandlerOptions{Level: slog.LevelInfo})})
}

// Provision lets a service that brings a server to its nodes
// (targets.Provisioner) build or find it: before any container starts and
// outside any run's clock. A campaign calls it for every cell before the
// first run, so that a version that does not exist stops it at once. An
// unknown version wraps ErrBadConfig; any other failure ErrInfrastructure.
func Provision(ctx context.Context, r *Resolved, say func(string)) error {
	pv, ok := r.Service.(targets.Provisioner)
	if !ok {
		return nil
	}
	if say == nil {
		say = func(string) {}
	}
	if err := pv.Provision(ctx, &r.Plan, say); err != nil {
		if errors.Is(err, targets.ErrUnknownVersion) || errors.Is(err, option.ErrBadOption) {
			return fmt.Errorf("%w: %w", ErrBadConfig, &plan.FieldError{Field: "opt", Msg: err.Error()})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s: %w", ErrInfrastructure, r.Plan.Target, err)
	}
	return nil
}

// said holds the provisioning lines this process has printed: a campaign
// that runs one server version a hundred times says that it is cached
// once.
var said sync.Map

// consoleSay returns a func that writes a line to the run's console, if
// it has one, unless this process printed the same line before.
func consoleSay(cfg Config) func(string) {
	return func(line string) {
		if cfg.Console == nil {
			return
		}
		if _, dup := said.LoadOrStore(line, true); !dup {
			fmt.Fprintf(cfg.Console, "lockstorm: %s\n", line)
		}
	}
}
