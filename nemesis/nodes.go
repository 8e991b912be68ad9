package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// script runs a shell script on node with positional arguments ($1...),
// feeding stdin when it is not nil, and returns its standard output. A
// non-zero exit is an error carrying the end of its standard error.
func script(ctx context.Context, c runtime.Cluster, node, body string, stdin []byte, args ...string) (string, error) {
	cmd := append([]string{"sh", "-c", body, "sh"}, args...)
	res, err := c.Exec(ctx, node, cmd, runtime.ExecOptions{Stdin: stdin})
	if err != nil {
		return "", err
	}
	if err := res.Err(); err != nil {
		return res.Stdout, fmt.Errorf("on %s: %w", node, err)
	}
	return res.Stdout, nil
}

// onNodes calls f for every node at once, so that a fault starts on all
// its nodes together, and joins the errors.
func onNodes(nodes []string, f func(node string) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// nodeIPs maps node names to their IPs on the run's network.
func nodeIPs(c runtime.Cluster) map[string]string {
	ips := map[string]string{}
	for _, n := range c.Nodes() {
		ips[n.Name] = n.IP
	}
	return ips
}

// servers returns the target's Servers interface, or an error saying that
// the nemesis needs it.
func servers(name string, env *Env) (targets.Servers, error) {
	s, ok := env.Service.(targets.Servers)
	if !ok {
		return nil, fmt.Errorf("%w: %s acts on server processes, and target %s does not name them (it does not implement targets.Servers)", ErrNotApplicable, name, env.Service.Name())
	}
	return s, nil
}

// resolveNodes returns the nodes an event of a node-set mode acts on: its
// targets, or for "primaries" the target's primaries now.
func resolveNodes(ctx context.Context, env *Env, mode string, evTargets []string) ([]string, error) {
	if mode == modeHolder {
		return holderNodes(ctx, env)
	}
	if mode != modePrimaries {
		if len(evTargets) == 0 {
			return nil, fmt.Errorf("event of mode %s names no nodes", mode)
		}
		return evTargets, nil
	}
	p, ok := env.Service.(targets.Primaries)
	if !ok {
		return nil, fmt.Errorf("%w: target %s cannot name its primaries", ErrNotApplicable, env.Service.Name())
	}
	nodes, err := p.Primaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("find primaries: %w", err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("target %s names no primary now", env.Service.Name())
	}
	return nodes, nil
}

// holderNodes waits (up to two seconds) until some client holds a lock, and
// returns the nodes through which the holders talk to the lock service.
//
// A holder that is more than half through its hold is about to let go,
// and a fault on its node would miss it: it releases before the service
// notices that it is cut off or paused, and the next grant goes to a
// client on another node. With holds of a second or more (the TTL locks'
// and the renewed leases' defaults), the fault aims at the holders that
// have at least half their hold ahead, and waits up to a hold for the next
// grant when none has; only then does any holder do.
func holderNodes(ctx context.Context, env *Env) ([]string, error) {
	if env.Faults != nil && env.Plan != nil && env.Plan.Hold >= time.Second {
		hold := env.Plan.Hold
		deadline := time.Now().Add(hold + 100*time.Millisecond)
		for {
			if nodes := env.Faults.HolderNodesSince(time.Now().Add(-hold / 2)); len(nodes) > 0 {
				return nodes, nil
			}
			if !time.Now().Before(deadline) || !wait.Sleep(ctx, 10*time.Millisecond) {
				break
			}
		}
	}
	if _, err := holderProcesses(ctx, env); err != nil {
		return nil, fmt.Errorf("mode %s: %w", modeHolder, err)
	}
	if nodes := env.Faults.HolderNodes(); len(nodes) > 0 {
		return nodes, nil
	}
	return nil, fmt.Errorf("mode %s: the holder names no node", modeHolder)
}

// checkPrimariesOpt returns ErrNotApplicable when the option
// "<nemesis>.mode" asks for primaries and the target cannot name them.
func checkPrimariesOpt(name string, mode option.Choice, env *Env) error {
	if vals, _ := mode.Lookup(env.Plan.Options); !slices.Contains(vals, modePrimaries) {
		return nil
	}
	if _, ok := env.Service.(targets.Primaries); !ok {
		return fmt.Errorf("%w: %s.mode asks for primaries, and target %s cannot name them", ErrNotApplicable, name, env.Service.Name())
	}
	return nil
}

// procStates is a shell function that prints "pid state" for each pid
// given, where state is the state of the process's threads: "T" when every
// thread is stopped, else the first state that is not. Gone processes are
// left out; zombies print "Z".
const procStates = `states() {
  for p in "$@"; do
    [ -d /proc/$p ] || continue
    s=T
    for t in /proc/$p/task/*/stat; do
      ts=$(sed 's/.*) //' "$t" 2>/dev/null | cut -d' ' -f1)
      [ -n "$ts" ] || continue
      if [ "$ts" != T ]; then s=$ts; break; fi
    done
    echo "$p $s"
  done
}
`

// parseStates reads the output of procStates into pid → state.
func parseStates(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}
