package nemesis

import (
	"context"
	"errors"
	"fmt"
	"github.com/lockstorm/lockstorm/runtime"
	"maps"
	"math/rand"
	"slices"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// PartitionChain is the iptables chain, in the filter table of every node,
// that holds the partition's rules. It is jumped to from INPUT, so a node
// drops packets from the peers it holds a grudge against. Only peer node
// addresses are ever dropped: the harness's clients reach the nodes from
// the Docker bridge gateway, which stays connected, as Jepsen's control
// node does.
const PartitionChain = runtime.PartitionChain // listed in runtime.Chains

// The partition modes.
const (
	partOne          = "one"
	partHalves       = "halves"
	partRandomHalves = "random-halves"
	partRing         = "majorities-ring"
	partBridge       = "bridge"
	partOneWay       = "one-way"
)

var partitionModes = []string{partOne, partHalves, partRandomHalves, partRing, partBridge, partOneWay}

// Partition cuts the network between nodes with iptables inside the node
// containers, in the shapes of Jepsen's partition nemeses. Plan draws the
// shape and computes the grudge, the peers each node drops packets from,
// into the event's "grudge" parameter; Inject looks the addresses up and
// installs each node's rules atomically with iptables-restore.
//
// Modes (option partition.mode, a mode or a comma list to draw from;
// without it, half of the partitions are holder and the rest draw every
// other mode the cluster is big enough for):
//   - holder: the node the current lock holder talks to (found when the
//     fault starts) is cut off from all others.
//   - one: one node is cut off from all others.
//   - halves: n1..n(N/2) against the rest.
//   - random-halves: a random split into a smaller and a larger half.
//   - majorities-ring: nodes in a random ring each see only their
//     neighbours, a majority, and no two see the same majority (4+ nodes).
//   - bridge: two halves that cannot talk, joined by one node that sees
//     both (3+ nodes).
//   - one-way: node A drops packets from B while B still receives from A.
//   - client-holder: a holder's client container is cut off from
//     every server, both ways, while the holder works on in its critical
//     section for the fault's length (needs client processes).
//   - client-holder-node: the same, from the node the holder talks to.
//   - clients-node: every client container is cut off from one node.
//   - client-holder-out, client-holder-in: the holder's client drops what
//     it sends to the servers, or what they send it.
//
// The fault lasts partition.duration if given, else half to all of the
// generator's window, and at least 1.5×lease+1s when the window allows.
type Partition struct{}

// partitionName is the name of Partition.
const partitionName = "partition"

// The options of partition.
var (
	partitionModeOpt = modeOption("partition", append(append(slices.Clone(partitionModes), modeHolder), clientPartitionModes...),
		"the shape of the cut (default: half aimed at the holder, half any shape the run can take)")
	partitionDurationOpt = durationOption("partition")
)

// Describe implements Nemesis.
func (p Partition) Describe() Descriptor {
	return Descriptor{
		Name:        partitionName,
		Description: "cut the network with iptables, between nodes (one, halves, random-halves, majorities-ring, bridge, one-way, holder) or between clients and servers (client-holder, client-holder-node, clients-node, client-holder-out, client-holder-in)",
		Options:     option.Specs(partitionModeOpt, partitionDurationOpt),
		Applies:     p.applies,
	}
}

// partitionModesFor lists the modes a cluster of n nodes can take.
func partitionModesFor(n int) []string {
	var out []string
	for _, m := range partitionModes {
		if partitionMinNodes(m) <= n {
			out = append(out, m)
		}
	}
	return out
}

func partitionMinNodes(mode string) int {
	switch mode {
	case partRing:
		return 4
	case partBridge:
		return 3
	}
	return 2
}

// Plan draws a shape and computes its grudge. Without the mode option,
// half of the partitions aim at the holder (its node, or with client
// processes its client too), and the other half draw any shape the run
// can take: between nodes when there are two or more, between clients and
// servers when the clients are processes.
func (Partition) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	n := len(p.Nodes)
	if n < 2 && !p.Clients {
		return plan.Event{}, fmt.Errorf("partition needs at least 2 nodes or client processes, the run has %d node(s) and its clients in the harness", n)
	}
	mode, err := drawPartitionMode(rng, p)
	if err != nil {
		return plan.Event{}, err
	}
	switch {
	case isClientMode(mode) && !p.Clients:
		return plan.Event{}, fmt.Errorf("partition mode %s cuts client containers off, and the run's clients run in the harness (--client go)", mode)
	case !isClientMode(mode) && n < partitionMinNodes(mode):
		return plan.Event{}, fmt.Errorf("partition mode %s needs at least %d nodes, the run has %d", mode, partitionMinNodes(mode), n)
	}
	d := drawDuration(rng, p, partitionDurationOpt)
	if isClientMode(mode) {
		ev := planClientCut(rng, mode, p.Nodes)
		ev.Duration = d
		return ev, nil
	}
	if mode == modeHolder {
		// The holder's node is only known when the fault starts: Inject
		// isolates it from every other node then.
		return plan.Event{Mode: mode, Duration: d, Params: partitionParams{}.encode(p.Nodes)}, nil
	}
	g := planGrudge(rng, mode, p.Nodes)
	if err != nil {
		return plan.Event{}, err
	}
	var hit []string
	for _, node := range p.Nodes {
		if len(g[node]) > 0 {
			hit = append(hit, node)
		}
	}
	return plan.Event{
		Mode: mode, Targets: hit, Duration: d,
		Params: partitionParams{Grudge: g}.encode(p.Nodes),
	}, nil
}

// partitionParams are the parameters of a partition event.
type partitionParams struct {
	// Grudge is, for each node, the peers whose packets it drops: drawn
	// in Plan for the modes between nodes, nil for the modes whose cut
	// is found when the fault starts (holder, the client-side modes).
	Grudge map[string][]string
}

// encode writes p as the parameters of a partition event: "grudge", as
// "n1:n2,n3;n2:n1" in the order of nodes, when there is one.
func (p partitionParams) encode(nodes []string) map[string]string {
	if p.Grudge == nil {
		return map[string]string{}
	}
	return map[string]string{"grudge": formatGrudge(p.Grudge, nodes)}
}

// decodePartitionParams reads the parameters of a partition event.
func decodePartitionParams(ev plan.Event) (partitionParams, error) {
	d := decodeParams(partitionName, ev)
	p := partitionParams{Grudge: map[string][]string{}}
	s, ok := d.lookup("grudge")
	if !ok || s == "" {
		return p, nil
	}
	for _, part := range strings.Split(s, ";") {
		node, peers, ok := strings.Cut(part, ":")
		if !ok || node == "" || peers == "" {
			d.fail("grudge", s, fmt.Errorf("bad entry %q", part))
			return partitionParams{}, d.err
		}
		p.Grudge[node] = strings.Split(peers, ",")
	}
	return p, nil
}

// drawPartitionMode draws the mode of one partition. With its clients in
// the harness the draw is the one lockstorm always made, so that a seed
// gives the schedule it gave.
func drawPartitionMode(rng *rand.Rand, p schedule.PlanParams) (string, error) {
	n := len(p.Nodes)
	if !p.Clients {
		return drawAimedMode(rng, partitionModeOpt, p.Opts, partitionModesFor(n))
	}
	if _, ok := partitionModeOpt.Lookup(p.Opts); ok {
		return drawMode(rng, partitionModeOpt, p.Opts, nil)
	}
	aimed := []string{partClientHolder}
	others := []string{partClientHolderNode, partClientsNode, partClientHolderOut, partClientHolderIn}
	if n >= 2 {
		aimed = append(aimed, modeHolder)
		others = append(partitionModesFor(n), others...)
	}
	if rng.Intn(2) == 0 {
		return aimed[rng.Intn(len(aimed))], nil
	}
	return others[rng.Intn(len(others))], nil
}

// planGrudge computes, for each node, the peers it drops packets from.
func planGrudge(rng *rand.Rand, mode string, nodes []string) map[string][]string {
	g := map[string][]string{}
	cut := func(a, b []string) {
		for _, x := range a {
			g[x] = append(g[x], b...)
		}
		for _, y := range b {
			g[y] = append(g[y], a...)
		}
	}
	switch mode {
	case partOne:
		v := nodes[rng.Intn(len(nodes))]
		cut([]string{v}, slices.DeleteFunc(slices.Clone(nodes), func(s string) bool { return s == v }))
	case partHalves:
		cut(nodes[:len(nodes)/2], nodes[len(nodes)/2:])
	case partRandomHalves:
		s := shuffled(rng, nodes)
		cut(s[:len(s)/2], s[len(s)/2:])
	case partRing:
		// Each node sees its k nearest neighbours on either side, which
		// with itself make a majority; 2k+1 < n keeps the views distinct.
		s := shuffled(rng, nodes)
		n := len(s)
		k := (n/2 + 1) / 2
		for i, x := range s {
			for j, y := range s {
				d := (j - i + n) % n
				if d > k && d < n-k {
					g[x] = append(g[x], y)
				}
			}
		}
	case partBridge:
		s := shuffled(rng, nodes)
		rest := s[1:]
		cut(rest[:len(rest)/2], rest[len(rest)/2:])
	case partOneWay:
		pair := pickNodes(rng, nodes, 2)
		if rng.Intn(2) == 1 {
			pair[0], pair[1] = pair[1], pair[0]
		}
		g[pair[0]] = []string{pair[1]}
	}
	for k, v := range g {
		g[k] = inNodeOrder(v, nodes)
	}
	return g
}

// formatGrudge writes a grudge as "n1:n2,n3;n2:n1", in node order.
func formatGrudge(g map[string][]string, nodes []string) string {
	var parts []string
	for _, n := range nodes {
		if len(g[n]) > 0 {
			parts = append(parts, n+":"+strings.Join(g[n], ","))
		}
	}
	return strings.Join(parts, ";")
}

// Grudge reads back the grudge of a partition event: for each node, the
// peers whose packets it drops. Nodes that drop nothing are absent.
func Grudge(ev plan.Event) (map[string][]string, error) {
	p, err := decodePartitionParams(ev)
	return p.Grudge, err
}

// applies is Partition's Descriptor.Applies: a partition needs
// containers, and two nodes or client processes to cut apart.
func (p Partition) applies(env *Env) error {
	if err := needsCluster(partitionName, env); err != nil {
		return err
	}
	if len(env.nodes()) < 2 && !hasClients(env) {
		return fmt.Errorf("%w: partition needs at least 2 nodes or client processes, the run has %d node(s) and its clients in the harness", ErrNotApplicable, len(env.nodes()))
	}
	return nil
}

// A cutRecord is what a partition cut, kept from Inject for Observe and
// Heal.
type cutRecord struct {
	grudge  map[string][]string  // between nodes
	clients map[string]clientCut // client containers
	work    <-chan struct{}      // closed when the cut-off holder's work ends
}

// Inject installs every node's rules, the empty set for nodes without a
// grudge, and checks them.
func (Partition) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	if isClientMode(ev.Mode) {
		return injectClientCut(ctx, env, ev)
	}
	params, err := decodePartitionParams(ev)
	g := params.Grudge
	if ev.Mode == modeHolder {
		g, err = holderGrudge(ctx, env)
	}
	if err != nil {
		return nil, err
	}
	env.stash(ev, cutRecord{grudge: g})
	ips := nodeIPs(env.Cluster)
	drops := map[string][]string{}
	for node, peers := range g {
		if _, ok := ips[node]; !ok {
			return nil, fmt.Errorf("partition %s: unknown node %s", ev.Mode, node)
		}
		for _, p := range peers {
			ip, ok := ips[p]
			if !ok {
				return nil, fmt.Errorf("partition %s: unknown node %s", ev.Mode, p)
			}
			drops[node] = append(drops[node], ip)
		}
	}
	err = onNodes(env.nodes(), func(node string) error {
		return setDrops(ctx, env, node, drops[node])
	})
	if err != nil {
		return nil, fmt.Errorf("partition %s: %w", ev.Mode, err)
	}
	return map[string]any{"drops": drops}, nil
}

// holderGrudge isolates the node of the current lock holder (the first, if
// holders talk through several) from every other node.
func holderGrudge(ctx context.Context, env *Env) (map[string][]string, error) {
	nodes, err := holderNodes(ctx, env)
	if err != nil {
		return nil, err
	}
	g := map[string][]string{}
	var rest []string
	for _, n := range env.nodes() {
		if n != nodes[0] {
			rest = append(rest, n)
			g[n] = []string{nodes[0]}
		}
	}
	g[nodes[0]] = rest
	return g, nil
}

// Heal empties the chains on every node and client container it cut, and
// checks that they are empty.
func (Partition) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	rec, _ := env.take(ev)
	if isClientMode(ev.Mode) {
		r, _ := rec.(cutRecord)
		cs := slices.Sorted(maps.Keys(r.clients))
		if len(cs) == 0 {
			cs = clientContainers(env) // an inject that failed before it knew
		}
		err := onNodes(cs, func(c string) error { return setClientCut(ctx, env, c, clientCut{}) })
		if err != nil {
			return nil, fmt.Errorf("heal partition: %w", err)
		}
		if r.work != nil {
			select {
			case <-r.work:
			case <-ctx.Done():
				return nil, fmt.Errorf("wait for the cut-off holder's work: %w", ctx.Err())
			}
		}
		return nil, nil
	}
	err := onNodes(env.nodes(), func(node string) error {
		return setDrops(ctx, env, node, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("heal partition: %w", err)
	}
	return nil, nil
}

// injectClientCut applies a client-side mode: the holder is found now, and
// the rules go into the client containers it names.
func injectClientCut(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	cuts, procs, done, err := clientCuts(ctx, env, ev)
	if err != nil {
		return nil, fmt.Errorf("partition %s: %w", ev.Mode, err)
	}
	env.stash(ev, cutRecord{clients: cuts, work: done})
	at := env.now()
	err = onNodes(slices.Sorted(maps.Keys(cuts)), func(c string) error {
		return setClientCut(ctx, env, c, cuts[c])
	})
	if err != nil {
		return nil, fmt.Errorf("partition %s: %w", ev.Mode, err)
	}
	details := map[string]any{"clients": cuts}
	if len(procs) > 0 {
		details["processes"] = procs
		// The server may end these sessions, and free their locks: the
		// checkers tell that from an early grant.
		env.sessionsAt(details, procs, at)
	}
	return details, nil
}

// Teardown unhooks and deletes the chains on every node and client
// container.
func (Partition) Teardown(ctx context.Context, env *Env) error {
	if env.Cluster == nil {
		return nil
	}
	if err := teardownClientChains(ctx, env); err != nil {
		return err
	}
	const body = `while iptables -w -D INPUT -j "$1" 2>/dev/null; do :; done
iptables -w -F "$1" 2>/dev/null || true
iptables -w -X "$1" 2>/dev/null || true
if iptables -w -S "$1" >/dev/null 2>&1; then echo "chain $1 is still there" >&2; exit 1; fi`
	return onNodes(env.nodes(), func(node string) error {
		_, err := script(ctx, env.Cluster, node, body, nil, PartitionChain)
		return err
	})
}

// setDrops replaces the chain on node with one DROP rule per source IP, in
// one iptables-restore transaction, hooks it into INPUT if needed, and
// checks the rules that are in place afterwards.
func setDrops(ctx context.Context, env *Env, node string, ips []string) error {
	var rules strings.Builder
	fmt.Fprintf(&rules, "*filter\n:%s - [0:0]\n", PartitionChain)
	for _, ip := range ips {
		fmt.Fprintf(&rules, "-A %s -s %s/32 -j DROP\n", PartitionChain, ip)
	}
	rules.WriteString("COMMIT\n")
	// Declaring the chain in the ruleset empties it, so the restore
	// replaces its rules at once; the jump from INPUT is added only once.
	const body = `set -e
iptables -w -C INPUT -j "$1" 2>/dev/null || { iptables -w -N "$1" 2>/dev/null || true; iptables -w -I INPUT 1 -j "$1"; }
iptables-restore -w --noflush
iptables -w -S "$1"`
	out, err := script(ctx, env.Cluster, node, body, []byte(rules.String()), PartitionChain)
	if err != nil {
		return fmt.Errorf("set rules: %w", err)
	}
	got := chainDrops(out)
	want := slices.Clone(ips)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("on %s: chain %s drops %v after restore, want %v", node, PartitionChain, got, want)
	}
	return nil
}

// chainDrops reads the source addresses of the DROP rules in the output of
// iptables -S, sorted. Any other rule in the chain is returned whole, so
// that it fails a comparison.
func chainDrops(out string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" || f[1] != PartitionChain {
			continue
		}
		if len(f) == 6 && f[2] == "-s" && f[4] == "-j" && f[5] == "DROP" {
			got = append(got, strings.TrimSuffix(f[3], "/32"))
		} else {
			got = append(got, strings.Join(f[2:], " "))
		}
	}
	sort.Strings(got)
	return got
}

// Observe implements Observer: a node that holds a grudge against a peer
// cannot open a connection to it nor take one from it, every other pair
// connects, and the harness reaches every node.
func (Partition) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the partition")
	}
	if rec := v.(cutRecord); rec.clients != nil {
		return checkClientReach(ctx, env, rec.clients)
	}
	g := v.(cutRecord).grudge
	want := map[[2]string]bool{}
	for node, peers := range g {
		for _, p := range peers {
			want[[2]string{node, p}] = true
			want[[2]string{p, node}] = true
		}
	}
	return checkReach(ctx, env, want)
}

// Clean implements Observer: the chain holds no rule on any node and every
// node reaches every other.
func (Partition) Clean(ctx context.Context, env *Env) error {
	var errs []error
	err := onNodes(env.nodes(), func(node string) error {
		out, err := script(ctx, env.Cluster, node, `iptables -w -S "$1" 2>/dev/null || true`, nil, PartitionChain)
		if err != nil {
			return err
		}
		if d := chainDrops(out); len(d) > 0 {
			return fmt.Errorf("on %s: chain %s still holds %v", node, PartitionChain, d)
		}
		return nil
	})
	errs = append(errs, err, checkReach(ctx, env, nil))
	err = onNodes(clientContainers(env), func(c string) error {
		out, err := script(ctx, env.Cluster, c, `iptables -w -S "$1" 2>/dev/null; iptables -w -S "$2" 2>/dev/null; true`, nil, PartitionChain, PartitionOutChain)
		if err != nil {
			return err
		}
		if in, outs := clientDrops(out); len(in)+len(outs) > 0 {
			return fmt.Errorf("on %s: partition chains still hold %v %v", c, in, outs)
		}
		return nil
	})
	errs = append(errs, err, checkClientReach(ctx, env, nil))
	return errors.Join(errs...)
}
