package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// OwnerLabel returns the LabelOwner value of the process pid on this
// host, as the runs it starts carry it (runtime.OwnerLabel).
func OwnerLabel(pid int) (string, error) { return runtime.OwnerLabel(pid) }

// LabelValues returns the distinct values of label over every container and
// network that carries LabelRun and label, sorted.
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
// networks of runs whose owner process (LabelOwner) has ended. Runs whose
// owner it cannot see (another PID namespace or host sharing the engine)
// are left, and counted in Reaped.Unseen.
func (d *Runtime) ReapOrphans(ctx context.Context) (runtime.Reaped, error) {
	self, err := runtime.OwnerOf(os.Getpid())
	if err != nil {
		return runtime.Reaped{}, err
	}
	owners, err := d.LabelValues(ctx, runtime.LabelOwner)
	if err != nil {
		return runtime.Reaped{}, err
	}
	var total runtime.Reaped
	var errs []error
	for _, v := range owners {
		gone, known := runtime.OwnerGone(self, v)
		if !known {
			total.Unseen = append(total.Unseen, v)
			continue
		}
		if !gone {
			continue
		}
		n, err := d.Reap(ctx, map[string]string{runtime.LabelOwner: v})
		total.Add(n)
		errs = append(errs, err)
	}
	if len(total.Unseen) > 0 {
		d.log.Info("left the runs of lockstorm processes that this one cannot see (another PID namespace or host); `lockstorm clean --all` removes them once they have ended", "owners", total.Unseen)
	}
	return total, errors.Join(errs...)
}
