package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/runtime"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// dockerCluster is the Cluster of one run on Docker. Its fields are set
// by Start and never change afterwards.
type dockerCluster struct {
	cli     *client.Client
	eng     *engineTransport
	churn   churnLock
	log     *slog.Logger
	runID   string
	netID   string
	nodes   []runtime.NodeInfo
	clients []runtime.NodeInfo
	ids     map[string]string // node or client name -> container id
	gateway string
}

var _ runtime.Cluster = (*dockerCluster)(nil)

func (c *dockerCluster) RunID() string { return c.runID }

func (c *dockerCluster) Nodes() []runtime.NodeInfo { return slices.Clone(c.nodes) }

func (c *dockerCluster) Clients() []runtime.NodeInfo { return slices.Clone(c.clients) }

func (c *dockerCluster) Gateway() string { return c.gateway }

// id returns the container id of node.
func (c *dockerCluster) id(node string) (string, error) {
	id, ok := c.ids[node]
	if !ok {
		return "", fmt.Errorf("%w: %q in run %s", runtime.ErrUnknownNode, node, c.runID)
	}
	return id, nil
}

// state returns the container state of node.
func (c *dockerCluster) state(ctx context.Context, id string) (*container.State, error) {
	info, err := c.cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.State == nil {
		return nil, errors.New("container has no state")
	}
	return info.State, nil
}

func (c *dockerCluster) Pause(ctx context.Context, node string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	if err := c.cli.ContainerPause(ctx, id); err != nil {
		if st, serr := c.state(ctx, id); serr == nil && st.Paused {
			return nil
		}
		return fmt.Errorf("pause %s: %w", node, err)
	}
	c.log.Debug("paused", "node", node)
	return nil
}

func (c *dockerCluster) Unpause(ctx context.Context, node string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	if err := c.cli.ContainerUnpause(ctx, id); err != nil {
		if st, serr := c.state(ctx, id); serr == nil && !st.Paused {
			return nil
		}
		return fmt.Errorf("unpause %s: %w", node, err)
	}
	c.log.Debug("unpaused", "node", node)
	return nil
}

func (c *dockerCluster) Kill(ctx context.Context, node string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	end, err := c.churn.hold(ctx)
	if err != nil {
		return fmt.Errorf("kill %s: %w", node, err)
	}
	defer end()
	if err := c.cli.ContainerKill(ctx, id, "KILL"); err != nil {
		if st, serr := c.state(ctx, id); serr == nil && !st.Running {
			return nil
		}
		return fmt.Errorf("kill %s: %w", node, err)
	}
	// The kill is asynchronous: wait until the container has stopped, as
	// long as the engine may take to answer a call.
	wctx, cancel := context.WithTimeout(ctx, c.eng.deadline())
	defer cancel()
	waitC, errC := c.cli.ContainerWait(wctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		if ctx.Err() == nil && wctx.Err() != nil {
			err = c.eng.noAnswer("wait for "+node+" to stop after SIGKILL", err)
		}
		return fmt.Errorf("kill %s: wait for stop: %w", node, err)
	}
	c.log.Debug("killed", "node", node)
	return nil
}

func (c *dockerCluster) Restart(ctx context.Context, node string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	// Starting a running container is a no-op for the daemon.
	if err := c.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("restart %s: %w", node, err)
	}
	c.log.Debug("restarted", "node", node)
	return nil
}

func (c *dockerCluster) Teardown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	r, err := removeLabelled(ctx, c.cli, c.churn, c.log, []string{runtime.LabelRun + "=" + c.runID})
	if err != nil {
		return fmt.Errorf("teardown %s: %w", c.runID, err)
	}
	if r.Containers > 0 || r.Networks > 0 {
		c.log.Info("cluster removed", "containers", r.Containers, "networks", r.Networks)
	}
	if len(r.Stuck) > 0 {
		return fmt.Errorf("teardown %s: the Docker engine would not remove network %s, which has no container on it any more, until it restarts (moby/moby#42119)", c.runID, strings.Join(r.Stuck, ", "))
	}
	return nil
}

// removeLabelled force-removes every container, then every network, that
// carries all the given label filters ("key" or "key=value"), one at a
// time, each in a turn of churn. Objects that vanish meanwhile are not
// errors.
func removeLabelled(ctx context.Context, cli *client.Client, churn churnLock, log *slog.Logger, labels []string) (runtime.Reaped, error) {
	var r runtime.Reaped
	args := filters.NewArgs()
	for _, l := range labels {
		args.Add("label", l)
	}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return r, fmt.Errorf("list containers: %w", err)
	}
	for _, s := range cs {
		end, err := churn.hold(ctx)
		if err != nil {
			return r, err
		}
		err = cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		end()
		if err != nil && !cerrdefs.IsNotFound(err) {
			return r, fmt.Errorf("remove container %s: %w", s.ID[:12], err)
		}
		if err == nil {
			log.Debug("container removed", "names", s.Names)
			r.Containers++
		}
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return r, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		end, err := churn.hold(ctx)
		if err != nil {
			return r, err
		}
		removed, err := removeNetwork(ctx, cli, n.ID)
		end()
		if err != nil && staleEndpoint(ctx, cli, n.ID) {
			// Nothing of ours is on it any more; the engine holds on to
			// an endpoint of a removed container. Say so, and go on.
			log.Warn("the Docker engine keeps a stale endpoint on this network, with no container attached, and will not remove it until it restarts (moby/moby#42119)",
				"network", n.Name, "err", err)
			r.Stuck = append(r.Stuck, n.Name)
			continue
		}
		if err != nil {
			return r, fmt.Errorf("remove network %s: %w", n.Name, err)
		}
		if removed {
			log.Debug("network removed", "name", n.Name)
			r.Networks++
		}
	}
	return r, nil
}

// staleEndpoint says whether the network with this id still exists with no
// container attached: an endpoint the engine kept after its container was
// removed is then what stops its removal.
func staleEndpoint(ctx context.Context, cli *client.Client, id string) bool {
	n, err := cli.NetworkInspect(ctx, id, network.InspectOptions{})
	return err == nil && len(n.Containers) == 0
}

// removeNetwork removes a network, retrying for a while if endpoints of
// just-removed containers are still being released. It reports whether it
// removed the network (false if it was already gone).
func removeNetwork(ctx context.Context, cli *client.Client, id string) (bool, error) {
	for attempt := 1; ; attempt++ {
		err := cli.NetworkRemove(ctx, id)
		switch {
		case err == nil:
			return true, nil
		case cerrdefs.IsNotFound(err):
			return false, nil
		case attempt >= 20 || ctx.Err() != nil:
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, errors.Join(err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
