package harness

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/process"
)

// startCluster reaps what killed runs left, starts the run's nodes, and
// writes their addresses into the plan.
func (r *run) startCluster(ctx context.Context) error {
	rt := r.cfg.Runtime
	if n, err := rt.ReapOrphans(ctx); err != nil {
		r.log.Warn("reap leftovers of killed runs", "err", err)
	} else if n.Containers+n.Networks > 0 {
		r.log.Info("reaped leftovers of killed runs", "containers", n.Containers, "networks", n.Networks)
	}
	spec := runtime.Spec{
		RunID:  fmt.Sprintf("%s-%04x", time.Now().UTC().Format("150405"), rand.Intn(1<<16)),
		Nodes:  len(r.Plan.Nodes),
		Labels: r.cfg.Labels,
		Log:    r.log,
	}
	if r.Plan.Client != plan.ClientGo {
		if r.cfg.ClientBinary == "" {
			return fmt.Errorf("%w: client processes need the lockstorm binary (Config.ClientBinary)", ErrInfrastructure)
		}
		spec.Clients = min(r.Plan.Concurrency, runtime.MaxClients)
		bin, err := filepath.Abs(r.cfg.ClientBinary)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInfrastructure, err)
		}
		spec.ClientFiles = []runtime.File{{Host: bin, Path: process.Binary}}
	}
	c, err := rt.Start(ctx, spec)
	if err != nil {
		return fmt.Errorf("%w: start %d nodes: %w", ErrInfrastructure, spec.Nodes, err)
	}
	r.cluster = c
	ips := map[string]string{}
	for _, n := range c.Nodes() {
		ips[n.Name] = n.IP
	}
	for i := range r.Plan.Nodes {
		r.Plan.Nodes[i].IP = ips[r.Plan.Nodes[i].Name]
	}
	r.log.Info("cluster up", "run", spec.RunID, "nodes", len(c.Nodes()))
	return nil
}

// teardown collects server logs, closes the service and removes the
// cluster. It is safe to call more than once and works after Ctrl-C.
func (r *run) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if r.cluster != nil {
		done := r.phase("logs")
		r.collectLogs(ctx)
		done()
	}
	if err := r.Service.Teardown(ctx); err != nil {
		r.log.Warn("service teardown", "err", err)
	}
	if r.cluster != nil {
		done := r.phase("teardown")
		if err := r.cluster.Teardown(ctx); err != nil {
			r.res.Leftover = &store.Leftover{
				Error:   err.Error(),
				Label:   runtime.LabelRun + "=" + r.cluster.RunID(),
				Command: "lockstorm clean",
			}
			r.log.Error("cluster teardown failed: its containers and network may be left", "label", r.res.Leftover.Label,
				"remove with", r.res.Leftover.Command, "err", err)
		}
		done()
		r.cluster = nil
	}
}

// collectLogs copies each node's server logs into nodes/<node>/.
func (r *run) collectLogs(ctx context.Context) {
	lc, ok := r.Service.(targets.LogCollector)
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
