package harness

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

// LabelOwner carries the PID of the lockstorm process that started a run,
// so that a later start can tell the leftovers of killed runs from runs that
// are still going.
const LabelOwner = "lockstorm.owner"

// startCluster connects to Docker, reaps what killed runs left, makes sure
// the node image exists, and starts the run's nodes.
func (r *run) startCluster(ctx context.Context) error {
	d, err := docker.New(ctx, r.log)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInfrastructure, err)
	}
	r.rt = d
	if n, err := ReapOrphans(ctx, d); err != nil {
		r.log.Warn("reap leftovers of killed runs", "err", err)
	} else if n.Containers+n.Networks > 0 {
		r.log.Info("reaped leftovers of killed runs", "containers", n.Containers, "networks", n.Networks)
	}
	tag, err := image.Ensure(ctx, d.Client(), image.Options{Log: r.log, Progress: r.cfg.Console})
	if err != nil {
		return fmt.Errorf("%w: node image: %v", ErrInfrastructure, err)
	}
	labels := map[string]string{LabelOwner: strconv.Itoa(os.Getpid())}
	for k, v := range r.cfg.Labels {
		labels[k] = v
	}
	spec := runtime.Spec{
		RunID:  fmt.Sprintf("%s-%04x", time.Now().UTC().Format("150405"), rand.Intn(1<<16)),
		Image:  tag,
		Nodes:  len(r.nodes),
		Labels: labels,
		Log:    r.log,
	}
	c, err := d.Start(ctx, spec)
	if err != nil {
		return fmt.Errorf("%w: start %d nodes: %v", ErrInfrastructure, spec.Nodes, err)
	}
	r.cluster = c
	r.log.Info("cluster up", "run", spec.RunID, "nodes", len(c.Nodes()))
	return nil
}

// teardown collects server logs, closes the target and removes the
// cluster. It is safe to call more than once and works after Ctrl-C.
func (r *run) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if r.target != nil && r.cluster != nil {
		done := r.phase("logs")
		r.collectLogs(ctx)
		done()
	}
	if r.target != nil {
		if err := r.target.Teardown(ctx); err != nil {
			r.log.Warn("target teardown", "err", err)
		}
	}
	if r.cluster != nil {
		done := r.phase("teardown")
		if err := r.cluster.Teardown(ctx); err != nil {
			r.log.Error("cluster teardown", "err", err)
		}
		done()
		r.cluster = nil
	}
	if r.rt != nil {
		_ = r.rt.Close()
		r.rt = nil
	}
}

// collectLogs copies each node's server logs into nodes/<node>/.
func (r *run) collectLogs(ctx context.Context) {
	lc, ok := r.target.(targets.LogCollector)
	if !ok {
		return
	}
	for node, paths := range lc.LogPaths() {
		dst := filepath.Join(r.dir, store.NodesDir, node)
		for _, p := range paths {
			if err := r.cluster.CopyFrom(ctx, node, p, dst); err != nil && !errors.Is(err, runtime.ErrNoSuchPath) {
				r.log.Warn("copy server log", "node", node, "path", p, "err", err)
			}
		}
	}
}

// ReapOrphans removes the containers and networks of runs whose lockstorm
// process is gone (killed with SIGKILL, say). Runs of live processes are
// left alone, so parallel runs do not reap each other.
func ReapOrphans(ctx context.Context, d *docker.Runtime) (runtime.Reaped, error) {
	owners, err := d.LabelValues(ctx, LabelOwner)
	if err != nil {
		return runtime.Reaped{}, err
	}
	var total runtime.Reaped
	var errs []error
	for _, owner := range owners {
		if pid, err := strconv.Atoi(owner); err == nil && processAlive(pid) {
			continue
		}
		n, err := d.Reap(ctx, map[string]string{LabelOwner: owner})
		total.Containers += n.Containers
		total.Networks += n.Networks
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}
