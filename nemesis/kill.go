package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// startTimeout bounds how long a restarted server may take to show up.
const startTimeout = 30 * time.Second

// Kill crashes the target's server processes with SIGKILL and starts them
// again with the target's StartServer. A server without persistence comes
// back empty and forgets every lock it granted; the Redis distlock page
// ("Performance, crash-recovery and fsync") says a restarted Redlock node
// must stay down for at least the longest TTL, so that every lock it knew
// has expired before it votes again.
//
// Modes (option kill.mode): one, minority, majority, all, primaries,
// holder, drawn as for pause. Option kill.restart-delay (default 0s) is how long the servers
// stay down: 0 restarts them at once within Inject, which is what breaks
// Redlock after a crash; a delay of at least the TTL is the distlock page's
// safe setting. The event lasts the delay, or, with no delay, one honoured
// lease (at least a second), after which Heal checks that the servers run.
type Kill struct{}

// killName is the name of Kill.
const killName = "kill"

// The options of kill.
var (
	killModeOpt = modeOption("kill", append(slices.Clone(nodeModes), modeHolder),
		"the nodes whose servers are killed (default: half holder, half one, minority, majority or all)")
	killDelayOpt = option.Duration{Name: "kill.restart-delay", Min: 0,
		Help: "how long killed servers stay down; 0 restarts them at once"}
)

// Describe implements Nemesis.
func (k Kill) Describe() Descriptor {
	return Descriptor{
		Name:        killName,
		Description: "crash server processes with SIGKILL and restart them, at once or after kill.restart-delay (one, minority, majority, all, primaries, holder)",
		Options:     option.Specs(killModeOpt, killDelayOpt),
		Applies:     k.applies,
	}
}

// Plan draws the mode and the nodes; the event lasts the restart delay.
func (Kill) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	delay := killDelayOpt.Get(p.Opts)
	ev, err := planNodeFault(rng, p, "kill", killModeOpt, option.Duration{})
	if err != nil {
		return plan.Event{}, err
	}
	ev.Duration = delay
	if delay == 0 {
		ev.Duration = min(max(p.Lease, time.Second), p.MaxDuration)
	}
	ev.Params = killParams{RestartDelay: delay}.encode()
	return ev, nil
}

// killParams are the parameters of a kill event.
type killParams struct {
	// RestartDelay is how long the killed servers stay down; 0 restarts
	// them at once, within Inject.
	RestartDelay time.Duration
}

// encode writes p as the parameters of a kill event: "restart-delay".
func (p killParams) encode() map[string]string {
	return map[string]string{"restart-delay": p.RestartDelay.String()}
}

// decodeKillParams reads the parameters of a kill event.
func decodeKillParams(ev plan.Event) (killParams, error) {
	d := decodeParams(killName, ev)
	p := killParams{RestartDelay: d.duration("restart-delay")}
	return p, d.err
}

// applies is Kill's Descriptor.Applies: the target must name and restart
// its server processes.
func (k Kill) applies(env *Env) error {
	if err := needsCluster(killName, env); err != nil {
		return err
	}
	if _, err := servers(killName, env); err != nil {
		return err
	}
	return checkPrimariesOpt(killName, killModeOpt, env)
}

// killed is what Inject keeps for Heal and Observe.
type killed struct {
	// PIDs are the killed processes by node.
	PIDs map[string][]string
	// Restarted says that Inject started the servers again.
	Restarted bool
}

func (k *killed) nodes(all []string) []string {
	var out []string
	for n := range k.PIDs {
		out = append(out, n)
	}
	return inNodeOrder(out, all)
}

// Inject kills the server processes on the event's nodes, waits until
// they are gone, and with no restart delay starts them again.
func (k Kill) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	params, err := decodeKillParams(ev)
	if err != nil {
		return nil, err
	}
	s, err := servers(killName, env)
	if err != nil {
		return nil, err
	}
	nodes, err := resolveNodes(ctx, env, ev.Mode, ev.Targets)
	if err != nil {
		return nil, fmt.Errorf("kill %s: %w", ev.Mode, err)
	}
	const body = `pids=$(pgrep -x -- "$1") || { echo "no $1 process" >&2; exit 3; }
kill -9 $pids
i=0
while :; do
  alive=""
  for p in $pids; do
    st=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1)
    [ -z "$st" ] || [ "$st" = Z ] || alive="$alive $p"
  done
  [ -n "$alive" ] || break
  i=$((i+1))
  if [ $i -ge 300 ]; then echo "still alive after 3s:$alive" >&2; exit 4; fi
  sleep 0.01
done
echo $pids`
	rec := &killed{PIDs: map[string][]string{}}
	var mu sync.Mutex
	err = onNodes(nodes, func(node string) error {
		out, err := script(ctx, env.Cluster, node, body, nil, s.ServerProcess(node))
		mu.Lock()
		rec.PIDs[node] = strings.Fields(out)
		mu.Unlock()
		return err
	})
	env.stash(ev, rec)
	if err != nil {
		return nil, fmt.Errorf("kill %s: %w", ev.Mode, err)
	}
	details := map[string]any{"nodes": nodes, "killed": rec.PIDs}
	if params.RestartDelay > 0 {
		return details, nil
	}
	if err := startServers(ctx, env, s, nodes); err != nil {
		return nil, fmt.Errorf("kill %s: restart: %w", ev.Mode, err)
	}
	rec.Restarted = true
	details["restarted"] = true
	return details, nil
}

// Heal starts the servers that are not running on the event's nodes and
// waits until they run.
func (k Kill) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	s, err := servers(killName, env)
	if err != nil {
		return nil, err
	}
	nodes := ev.Targets
	if v, ok := env.take(ev); ok {
		nodes = v.(*killed).nodes(env.nodes())
	}
	if len(nodes) == 0 {
		nodes = env.nodes()
	}
	if err := startServers(ctx, env, s, nodes); err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	return nil, nil
}

// Teardown starts every server that is not running.
func (k Kill) Teardown(ctx context.Context, env *Env) error {
	if env.Cluster == nil {
		return nil
	}
	s, ok := env.Service.(targets.Servers)
	if !ok {
		return nil
	}
	return startServers(ctx, env, s, env.nodes())
}

// startServers starts the server on every node of nodes where none runs,
// and waits until each has a process.
func startServers(ctx context.Context, env *Env, s targets.Servers, nodes []string) error {
	return onNodes(nodes, func(node string) error {
		name := s.ServerProcess(node)
		pids, err := targets.ServerPIDs(ctx, env.Cluster, node, name)
		if err != nil {
			return fmt.Errorf("find %s on %s: %w", name, node, err)
		}
		if len(pids) > 0 {
			return nil
		}
		if err := s.StartServer(ctx, node); err != nil {
			return fmt.Errorf("start server on %s: %w", node, err)
		}
		return wait.For(ctx, startTimeout, 20*time.Millisecond, func(ctx context.Context) error {
			pids, err := targets.ServerPIDs(ctx, env.Cluster, node, name)
			if err == nil && len(pids) == 0 {
				err = fmt.Errorf("no %s process on %s", name, node)
			}
			return err
		})
	})
}

// Observe implements Observer: the killed processes are gone; with no
// restart delay the servers run again as new processes, else no server
// runs on the killed nodes.
func (k Kill) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	s, err := servers(killName, env)
	if err != nil {
		return err
	}
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the kill of %v", ev.Targets)
	}
	rec := v.(*killed)
	if len(rec.PIDs) == 0 {
		return errors.New("the kill hit no node")
	}
	return onNodes(rec.nodes(env.nodes()), func(node string) error {
		if len(rec.PIDs[node]) == 0 {
			return fmt.Errorf("on %s: no process was killed", node)
		}
		now, err := targets.ServerPIDs(ctx, env.Cluster, node, s.ServerProcess(node))
		if err != nil {
			return err
		}
		for _, pid := range rec.PIDs[node] {
			if slices.Contains(now, pid) {
				return fmt.Errorf("on %s: killed process %s still exists", node, pid)
			}
		}
		switch {
		case rec.Restarted && len(now) == 0:
			return fmt.Errorf("on %s: server was not restarted", node)
		case !rec.Restarted && len(now) > 0:
			return fmt.Errorf("on %s: server runs (%v) during the restart delay", node, now)
		}
		return nil
	})
}

// Clean implements Observer: a server process runs on every node.
func (k Kill) Clean(ctx context.Context, env *Env) error {
	s, err := servers(killName, env)
	if err != nil {
		return err
	}
	return onNodes(env.nodes(), func(node string) error {
		pids, err := targets.ServerPIDs(ctx, env.Cluster, node, s.ServerProcess(node))
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return fmt.Errorf("on %s: no %s process", node, s.ServerProcess(node))
		}
		return nil
	})
}
