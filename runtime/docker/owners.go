package docker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"syscall"

	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// LabelValues returns the distinct values of label over every container and
// network that carries LabelRun and label, sorted. The harness labels runs
// with the PID of their process and reaps only those whose process is gone.
func (d *Runtime) LabelValues(ctx context.Context, label string) ([]string, error) {
	args := filters.NewArgs(filters.Arg("label", runtime.LabelRun), filters.Arg("label", label))
	seen := map[string]bool{}
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		seen[c.Labels[label]] = true
	}
	ns, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		seen[n.Labels[label]] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

// ReapOrphans implements runtime.Runtime: it removes the containers and
// networks of runs whose owner PID (LabelOwner) no longer runs here.
func (d *Runtime) ReapOrphans(ctx context.Context) (runtime.Reaped, error) {
	owners, err := d.LabelValues(ctx, runtime.LabelOwner)
	if err != nil {
		return runtime.Reaped{}, err
	}
	var total runtime.Reaped
	var errs []error
	for _, owner := range owners {
		if pid, err := strconv.Atoi(owner); err == nil && processAlive(pid) {
			continue
		}
		n, err := d.Reap(ctx, map[string]string{runtime.LabelOwner: owner})
		total.Add(n)
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// processAlive reports whether a process with this PID exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
