package nemesis

import (
	"context"
	"errors"
	"fmt"
	"github.com/lockstorm/lockstorm/runtime"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
)

// The client-side modes of partition: they cut client containers off from
// server nodes, so that the servers' own machinery (TCP keepalive, session
// timeouts, lease expiry) sees a dead client, as in production. The rules
// live in the client containers; the harness, which reaches its client
// processes from the bridge's gateway, stays connected to them.
const (
	// partClientHolder cuts a holder's client off from every
	// server, both ways, while it works on in its critical section.
	partClientHolder = "client-holder"
	// partClientHolderNode cuts it off from the node it talks to.
	partClientHolderNode = "client-holder-node"
	// partClientsNode cuts every client off from one drawn node.
	partClientsNode = "clients-node"
	// partClientHolderOut drops what the holder's client sends to the
	// servers, and lets through what they send it.
	partClientHolderOut = "client-holder-out"
	// partClientHolderIn drops what the servers send to the holder's
	// client, and lets through what it sends.
	partClientHolderIn = "client-holder-in"
)

var clientPartitionModes = []string{partClientHolder, partClientHolderNode, partClientsNode, partClientHolderOut, partClientHolderIn}

// PartitionOutChain is the chain, jumped to from OUTPUT in client
// containers, that drops what a client sends to the servers it is cut off
// from; PartitionChain, from INPUT, drops what they send it.
const PartitionOutChain = runtime.PartitionOutChain // listed in runtime.Chains

func isClientMode(mode string) bool { return slices.Contains(clientPartitionModes, mode) }

// hasClients reports whether the run's clients are processes in client
// containers, at which client-side modes can aim.
func hasClients(env *Env) bool {
	return env.Plan.Client != "" && env.Plan.Client != plan.ClientGo
}

// planClientCut plans a client-side mode: clients-node draws its node now;
// the holder's modes find the holder when the fault starts.
func planClientCut(rng *rand.Rand, mode string, nodes []string) plan.Event {
	ev := plan.Event{Mode: mode, Params: partitionParams{}.encode(nodes)}
	if mode == partClientsNode {
		ev.Targets = pickNodes(rng, nodes, 1)
	}
	return ev
}

// A clientCut is what one client container drops: the server nodes whose
// packets it takes in (in) and to which it sends (out).
type clientCut struct {
	In  []string `json:"in,omitempty"`
	Out []string `json:"out,omitempty"`
}

// clientCuts works out, when a client-side fault starts, which client
// containers drop what, and which client processes it hits. The holder's
// modes take the next client that acquires a lock and keep it working in
// its critical section for the fault's length, as a holder in the middle
// of a long job whose link goes away; done is closed when that work ends.
func clientCuts(ctx context.Context, env *Env, ev plan.Event) (cuts map[string]clientCut, procs []int, done <-chan struct{}, err error) {
	if env.ClientOf == nil || env.Cluster == nil {
		return nil, nil, nil, fmt.Errorf("%w: partition %s cuts client containers off, and the run's clients run in the harness (--client go)", ErrNotApplicable, ev.Mode)
	}
	cuts = map[string]clientCut{}
	if ev.Mode == partClientsNode {
		for _, c := range env.Cluster.Clients() {
			cuts[c.Name] = clientCut{In: ev.Targets, Out: ev.Targets}
		}
		// The holders that talk to the cut-off node are hit; when nobody
		// holds a lock the cut applies all the same.
		held, _ := holderProcesses(ctx, env)
		for _, p := range held {
			if slices.Contains(ev.Targets, env.Faults.HolderNode(p)) {
				procs = append(procs, p)
			}
		}
		return cuts, procs, nil, nil
	}
	if env.Faults == nil {
		return nil, nil, nil, errors.New("the run tracks no lock holders")
	}
	v, done, err := env.Faults.Work(ctx, ev.Duration)
	if err != nil {
		return nil, nil, nil, err
	}
	p := v.Process
	servers := env.nodes()
	if ev.Mode == partClientHolderNode {
		servers = []string{env.Faults.HolderNode(p)}
	}
	cut := clientCut{In: servers, Out: servers}
	switch ev.Mode {
	case partClientHolderOut:
		cut.In = nil
	case partClientHolderIn:
		cut.Out = nil
	}
	cuts[env.ClientOf(p)] = cut
	return cuts, []int{p}, done, nil
}

// holderProcesses waits (up to two seconds) until some client holds a
// lock, and returns the processes that hold one.
func holderProcesses(ctx context.Context, env *Env) ([]int, error) {
	if env.Faults == nil {
		return nil, errors.New("the run tracks no lock holders")
	}
	for i := 0; i < 40; i++ {
		if procs := env.Faults.Holders(); len(procs) > 0 {
			return procs, nil
		}
		if !wait.Sleep(ctx, 50*time.Millisecond) {
			break
		}
	}
	return nil, errors.New("no client held a lock")
}

// setClientCut replaces the partition chains of a client container with
// rules that drop what cut says, and checks them.
func setClientCut(ctx context.Context, env *Env, container string, cut clientCut) error {
	ips := nodeIPs(env.Cluster)
	var rules strings.Builder
	fmt.Fprintf(&rules, "*filter\n:%s - [0:0]\n:%s - [0:0]\n", PartitionChain, PartitionOutChain)
	var wantIn, wantOut []string
	for _, n := range cut.In {
		fmt.Fprintf(&rules, "-A %s -s %s/32 -j DROP\n", PartitionChain, ips[n])
		wantIn = append(wantIn, ips[n])
	}
	for _, n := range cut.Out {
		fmt.Fprintf(&rules, "-A %s -d %s/32 -j DROP\n", PartitionOutChain, ips[n])
		wantOut = append(wantOut, ips[n])
	}
	rules.WriteString("COMMIT\n")
	const body = `set -e
iptables -w -C INPUT -j "$1" 2>/dev/null || { iptables -w -N "$1" 2>/dev/null || true; iptables -w -I INPUT 1 -j "$1"; }
iptables -w -C OUTPUT -j "$2" 2>/dev/null || { iptables -w -N "$2" 2>/dev/null || true; iptables -w -I OUTPUT 1 -j "$2"; }
iptables-restore -w --noflush
iptables -w -S "$1"; iptables -w -S "$2"`
	out, err := script(ctx, env.Cluster, container, body, []byte(rules.String()), PartitionChain, PartitionOutChain)
	if err != nil {
		return fmt.Errorf("set rules: %w", err)
	}
	gotIn, gotOut := clientDrops(out)
	sort.Strings(wantIn)
	sort.Strings(wantOut)
	if !slices.Equal(gotIn, wantIn) || !slices.Equal(gotOut, wantOut) {
		return fmt.Errorf("on %s: drops in %v out %v after restore, want %v and %v", container, gotIn, gotOut, wantIn, wantOut)
	}
	return nil
}

// clientDrops reads the addresses that the partition chains of a client
// container drop, from iptables -S: sources in, destinations out. Any other
// rule is returned whole, so that it fails a comparison.
func clientDrops(out string) (in, outs []string) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		switch {
		case f[1] == PartitionChain && len(f) == 6 && f[2] == "-s" && f[5] == "DROP":
			in = append(in, strings.TrimSuffix(f[3], "/32"))
		case f[1] == PartitionOutChain && len(f) == 6 && f[2] == "-d" && f[5] == "DROP":
			outs = append(outs, strings.TrimSuffix(f[3], "/32"))
		case f[1] == PartitionChain || f[1] == PartitionOutChain:
			in = append(in, strings.Join(f[2:], " "))
		}
	}
	sort.Strings(in)
	sort.Strings(outs)
	return in, outs
}

// clientContainers lists the run's client containers.
func clientContainers(env *Env) []string {
	if env.Cluster == nil {
		return nil
	}
	var out []string
	for _, c := range env.Cluster.Clients() {
		out = append(out, c.Name)
	}
	return out
}

// teardownClientChains unhooks and deletes the partition chains in every
// client container.
func teardownClientChains(ctx context.Context, env *Env) error {
	const body = `while iptables -w -D INPUT -j "$1" 2>/dev/null; do :; done
while iptables -w -D OUTPUT -j "$2" 2>/dev/null; do :; done
for c in "$1" "$2"; do iptables -w -F "$c" 2>/dev/null || true; iptables -w -X "$c" 2>/dev/null || true; done
if iptables -w -S "$1" >/dev/null 2>&1 || iptables -w -S "$2" >/dev/null 2>&1; then echo "a partition chain is still there" >&2; exit 1; fi`
	return onNodes(clientContainers(env), func(c string) error {
		_, err := script(ctx, env.Cluster, c, body, nil, PartitionChain, PartitionOutChain)
		return err
	})
}

// checkClientReach probes from every client container a TCP connection to
// every server node: the pairs in cut must time out, the others answer.
func checkClientReach(ctx context.Context, env *Env, cuts map[string]clientCut) error {
	ips := nodeIPs(env.Cluster)
	return onNodes(clientContainers(env), func(c string) error {
		cut := cuts[c]
		var dsts []string
		for _, n := range env.nodes() {
			dsts = append(dsts, ips[n])
		}
		out, err := script(ctx, env.Cluster, c, probeScript, nil, append([]string{probePort, fmt.Sprint(probeTimeout.Seconds())}, dsts...)...)
		if err != nil {
			return fmt.Errorf("probe from %s: %w", c, err)
		}
		var bad []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			node := ""
			for n, ip := range ips {
				if ip == f[0] {
					node = n
				}
			}
			// TCP needs both ways: a one-way cut stops a connection too.
			want := slices.Contains(cut.In, node) || slices.Contains(cut.Out, node)
			if blocked := f[1] == "124"; blocked != want {
				bad = append(bad, fmt.Sprintf("%s→%s cut=%v (want %v)", c, node, blocked, want))
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return fmt.Errorf("client reachability: %s", strings.Join(bad, ", "))
		}
		return nil
	})
}
