package nemesis

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// ConnDropChain is the iptables chain, in the client containers, that
// resets the holder's connections to the servers; it is jumped to from
// INPUT and OUTPUT.
const ConnDropChain = runtime.ConnDropChain // listed in runtime.Chains

// connDropMark marks the packets that the provocation sends, so that the
// chain lets them out.
const connDropMark = "0x10c4"

// provokeScript makes every server answer on each established connection
// of the container to it, so that the answer meets the reset rule. A
// server that sends nothing (an idle session, as a lock holder's is)
// would not hear of a reset until its next keepalive, hours later; so for
// each connection it sends, from a raw socket, a bare ACK whose sequence
// number is out of the server's window. A TCP stack answers that with an
// ACK of its own (RFC 793; Linux rate-limits these to one per 500 ms per
// connection), which the INPUT rule turns into a reset whose sequence
// number is the one the server expects: the server drops the connection at
// once. Arguments: the mark, then the servers' IPs. It prints how many
// connections it provoked.
const provokeScript = `import random, socket, struct, sys
mark, servers = int(sys.argv[1], 0), set(sys.argv[2:])
def addr(h):
    ip, port = h.split(":")
    return socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16)
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
conns = []
with open("/proc/net/tcp") as f:
    for line in f.readlines()[1:]:
        x = line.split()
        if x[3] == "01":
            (lip, lport), (rip, rport) = addr(x[1]), addr(x[2])
            if rip in servers:
                conns.append((lip, lport, rip, rport))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_MARK", 36), mark)
for lip, lport, rip, rport in conns:
    seq, ack = random.getrandbits(32), random.getrandbits(32)
    hdr = struct.pack("!HHIIBBHHH", lport, rport, seq, ack, 5 << 4, 0x10, 1024, 0, 0)
    pseudo = socket.inet_aton(lip) + socket.inet_aton(rip) + struct.pack("!BBH", 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    s.sendto(hdr, (rip, 0))
print(len(conns))
`

// ConnDrop resets the TCP connections of a lock holder (at work, or the next) to the lock
// service, while the holder goes on with its work: what a firewall, a NAT
// or a load balancer does to an idle connection. For the duration of the
// fault, iptables rules in the holder's client container answer every
// packet between it and the servers with a TCP reset, so both ends see
// one: the client when it sends, the server when it sends (a keepalive
// probe, a reply). The holder is not frozen; it works on for the fault's
// length, believing it still holds its lock, and then carries on, and its
// client reconnects. Where grants belong to the session (PostgreSQL's
// advisory locks) this is the moment the server frees the lock: the
// chapter's dropped-connection story, and go-sql-driver/mysql issue 1138.
//
// `ss -K` cannot kill sockets in these containers ("RTNETLINK answers:
// Invalid argument"); a REJECT with tcp-reset resets an established
// connection at its next packet.
type ConnDrop struct{}

// connDropDurationOpt is how long the holder works on with its
// connections reset.
var connDropDurationOpt = option.Duration{Name: "conn-drop.duration", Positive: true,
	Help: "how long the holder works on while its connections are reset (default: 2 leases and a second, at least 5s)"}

// connDropName is the name of ConnDrop.
const connDropName = "conn-drop"

// Describe implements Nemesis.
func (c ConnDrop) Describe() Descriptor {
	return Descriptor{
		Name:        connDropName,
		Description: "reset the holder's TCP connections to the servers (both ends see a reset) while it works on, then let it reconnect",
		Options:     option.Specs(connDropDurationOpt),
		Applies:     c.applies,
	}
}

// Plan draws nothing but the length: the holder is found when the fault
// starts.
func (ConnDrop) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	d, ok := connDropDurationOpt.Lookup(p.Opts)
	if !ok {
		d = max(2*p.Lease+time.Second, 5*time.Second)
	}
	return plan.Event{Duration: d, Params: connDropParams{Work: d}.encode()}, nil
}

// connDropParams are the parameters of a conn-drop event.
type connDropParams struct {
	// Work is how long the holder works on with its connections reset.
	Work time.Duration
}

// encode writes p as the parameters of a conn-drop event: "work".
func (p connDropParams) encode() map[string]string {
	return map[string]string{"work": p.Work.String()}
}

// decodeConnDropParams reads the parameters of a conn-drop event.
func decodeConnDropParams(ev plan.Event) (connDropParams, error) {
	d := decodeParams(connDropName, ev)
	p := connDropParams{Work: d.duration("work")}
	return p, d.err
}

// applies is ConnDrop's Descriptor.Applies: the rules go into client
// containers.
func (c ConnDrop) applies(env *Env) error {
	if err := needsCluster(connDropName, env); err != nil {
		return err
	}
	if !hasClients(env) {
		return fmt.Errorf("%w: conn-drop resets a client container's connections, and the run's clients run in the harness (--client go)", ErrNotApplicable)
	}
	return nil
}

// A dropRecord is what an inject keeps for Heal and Observe.
type dropRecord struct {
	container string
	done      <-chan struct{}
}

// Inject arms the work, waits until a holder starts it, and resets that
// holder's connections from then on.
func (c ConnDrop) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	params, err := decodeConnDropParams(ev)
	if err != nil {
		return nil, err
	}
	if env.ClientOf == nil {
		return nil, fmt.Errorf("conn-drop: the run has no client containers")
	}
	work := params.Work
	v, done, err := env.Faults.Work(ctx, work)
	if err != nil {
		return nil, err
	}
	container := env.ClientOf(v.Process)
	env.stash(ev, dropRecord{container: container, done: done})
	at := env.now()
	if err := setResets(ctx, env, container, env.nodes()); err != nil {
		return nil, fmt.Errorf("conn-drop: %w", err)
	}
	details := map[string]any{"process": v.Process, "key": v.Key, "client": container, "work": work.String()}
	env.sessionsAt(details, []int{v.Process}, at)
	return details, nil
}

// Heal removes the resets and waits until the holder's work is over.
func (c ConnDrop) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	v, ok := env.take(ev)
	if !ok {
		return nil, nil
	}
	rec := v.(dropRecord)
	if err := setResets(ctx, env, rec.container, nil); err != nil {
		return nil, fmt.Errorf("heal conn-drop: %w", err)
	}
	select {
	case <-rec.done:
		return nil, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the holder's work: %w", ctx.Err())
	}
}

// Teardown unhooks and deletes the chain in every client container.
func (ConnDrop) Teardown(ctx context.Context, env *Env) error {
	const body = `while iptables -w -D INPUT -j "$1" 2>/dev/null; do :; done
while iptables -w -D OUTPUT -j "$1" 2>/dev/null; do :; done
iptables -w -F "$1" 2>/dev/null || true
iptables -w -X "$1" 2>/dev/null || true
if iptables -w -S "$1" >/dev/null 2>&1; then echo "chain $1 is still there" >&2; exit 1; fi`
	return onNodes(clientContainers(env), func(c string) error {
		_, err := script(ctx, env.Cluster, c, body, nil, ConnDropChain)
		return err
	})
}

// setResets fills the chain of container with resets of the TCP traffic
// to and from nodes (none: empty), and checks it.
func setResets(ctx context.Context, env *Env, container string, nodes []string) error {
	ips := nodeIPs(env.Cluster)
	var rules strings.Builder
	fmt.Fprintf(&rules, "*filter\n:%s - [0:0]\n", ConnDropChain)
	if len(nodes) > 0 {
		fmt.Fprintf(&rules, "-A %s -m mark --mark %s -j RETURN\n", ConnDropChain, connDropMark)
	}
	for _, n := range nodes {
		// Not the resets themselves, either way: the reset that REJECT
		// sends a server leaves through OUTPUT, and the one it sends the
		// client for an outgoing packet comes in through INPUT.
		fmt.Fprintf(&rules, "-A %s -s %s/32 -p tcp ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset\n", ConnDropChain, ips[n])
		fmt.Fprintf(&rules, "-A %s -d %s/32 -p tcp ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset\n", ConnDropChain, ips[n])
	}
	rules.WriteString("COMMIT\n")
	const body = `set -e
iptables -w -N "$1" 2>/dev/null || true
iptables -w -C INPUT -j "$1" 2>/dev/null || iptables -w -I INPUT 1 -j "$1"
iptables -w -C OUTPUT -j "$1" 2>/dev/null || iptables -w -I OUTPUT 1 -j "$1"
iptables-restore -w --noflush
iptables -w -S "$1" | grep -c -- '-j REJECT' || true`
	out, err := script(ctx, env.Cluster, container, body, []byte(rules.String()), ConnDropChain)
	if err != nil {
		return fmt.Errorf("on %s: %w", container, err)
	}
	if got, want := strings.TrimSpace(out), fmt.Sprint(2*len(nodes)); got != want {
		return fmt.Errorf("on %s: %s reset rules after restore, want %s", container, got, want)
	}
	if len(nodes) == 0 {
		return nil
	}
	args := []string{"python3", "-c", provokeScript, connDropMark}
	for _, n := range nodes {
		args = append(args, ips[n])
	}
	res, err := env.Cluster.Exec(ctx, container, args, runtime.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return fmt.Errorf("on %s: make the servers answer: %w", container, err)
	}
	if env.Log != nil {
		env.Log.Debug("conn-drop: connections reset", "client", container, "connections", strings.TrimSpace(res.Stdout))
	}
	return nil
}

// Observe implements Observer: a connection from the holder's client
// container to a server's port is refused at once (reset), where it
// would connect without the fault.
func (ConnDrop) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the conn-drop")
	}
	return checkResets(ctx, env, v.(dropRecord).container, true)
}

// Clean implements Observer: every client container connects to every
// server's port.
func (ConnDrop) Clean(ctx context.Context, env *Env) error {
	return onNodes(clientContainers(env), func(c string) error { return checkResets(ctx, env, c, false) })
}

// checkResets connects from container to the service's first port on
// every node: each must be reset (exit status 1 at once) when reset is
// set, and connect otherwise.
func checkResets(ctx context.Context, env *Env, container string, reset bool) error {
	ports := env.Service.Describe().Ports
	if len(ports) == 0 {
		return fmt.Errorf("the service names no port to probe")
	}
	port := 0
	for _, p := range ports {
		if port == 0 || p < port {
			port = p
		}
	}
	ips := nodeIPs(env.Cluster)
	var dsts []string
	for _, n := range env.nodes() {
		dsts = append(dsts, ips[n])
	}
	out, err := script(ctx, env.Cluster, container, probeScript, nil, append([]string{fmt.Sprint(port), "2"}, dsts...)...)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch {
		case reset && f[1] != "1":
			return fmt.Errorf("%s→%s:%d gave status %s, want a reset (1)", container, f[0], port, f[1])
		case !reset && f[1] != "0":
			return fmt.Errorf("%s→%s:%d gave status %s, want a connection (0)", container, f[0], port, f[1])
		}
	}
	return nil
}
