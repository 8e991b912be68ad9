package nemesis

import (
	"context"
	"fmt"
	"github.com/lockstorm/lockstorm/runtime"
	"maps"
	"math/rand"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// toxiproxy's bandwidth toxic logs at trace level through zerolog's global
// logger, not the server's, so that every heal of a bandwidth fault wrote
// "BandwidthToxic was interrupted" lines on the terminal of a run. lockstorm
// logs nothing through zerolog, so the global logger is silenced.
func init() { zlog.Logger = zerolog.Nop() }

// LinkChain is the chain, in the nat table of every client container, that
// sends the client's connections to the servers through the link
// nemesis's proxies; it is jumped to from OUTPUT.
const LinkChain = runtime.LinkChain // listed in runtime.Chains

// Link slows, stalls or breaks the TCP links between the client
// containers and the servers. This kernel has no netem, so it does it with
// a real TCP fault proxy, Shopify's toxiproxy, run as a library inside the
// harness: one proxy per client container and server port, listening on
// the harness's address on the run's network. Before the clients start,
// a DNAT rule in each client container sends its connections to a
// server's port to that container's proxy, so every client, in any
// language, goes through it unchanged. A fault adds toxics to proxies and
// its heal removes them.
//
// Modes:
//   - latency: every client's links get link.latency ± link.jitter each
//     way.
//   - bandwidth: every client's links carry at most link.rate KB/s each
//     way.
//   - stall: a holder's links stop delivering, both ways, and do
//     not close, while the holder works on for the fault's length; what
//     was sent is delivered when the fault heals.
//   - close: each of a holder's links, and each it opens during the
//     fault, is closed once it has carried link.bytes more bytes towards
//     the server, while the holder works on.
type Link struct{}

// The link modes.
const (
	linkLatency   = "latency"
	linkBandwidth = "bandwidth"
	linkStall     = "stall"
	linkClose     = "close"
)

var linkModes = []string{linkLatency, linkBandwidth, linkStall, linkClose}

// The options of link.
var (
	linkModeOpt     = modeOption("link", linkModes, "the fault on the links (default: any)")
	linkDurationOpt = durationOption("link")
	linkLatencyOpt  = option.Duration{Name: "link.latency", Whole: time.Millisecond,
		Help: "latency mode: the delay added each way (default: a quarter of the lease, so a round trip takes half of it)"}
	linkJitterOpt = option.Duration{Name: "link.jitter", Whole: time.Millisecond,
		Help: "latency mode: the delay varies by up to this much either way (default: a tenth of the latency)"}
	linkRateOpt = option.Int{Name: "link.rate", Default: 16, Min: 1, Max: 1 << 20,
		Help: "bandwidth mode: KB/s each way"}
	linkBytesOpt = option.Int{Name: "link.bytes", Default: 16, Min: 0, Max: 1 << 30,
		Help: "close mode: bytes a link carries towards the server before it is closed"}
)

// linkName is the name of Link.
const linkName = "link"

// Describe implements Nemesis.
func (l Link) Describe() Descriptor {
	return Descriptor{
		Name:        linkName,
		Description: "slow, stall or break the TCP links between client processes and the servers, through toxiproxy (latency, bandwidth, stall, close)",
		Options:     option.Specs(linkModeOpt, linkDurationOpt, linkLatencyOpt, linkJitterOpt, linkRateOpt, linkBytesOpt),
		Applies:     l.applies,
	}
}

// Plan draws a mode and a length, and fixes the toxic's figures.
func (Link) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	mode, err := drawMode(rng, linkModeOpt, p.Opts, linkModes)
	if err != nil {
		return plan.Event{}, err
	}
	ev := plan.Event{Mode: mode, Duration: drawDuration(rng, p, linkDurationOpt)}
	var params linkParams
	switch mode {
	case linkLatency:
		lat, ok := linkLatencyOpt.Lookup(p.Opts)
		if !ok {
			lat = (p.Lease / 4).Round(time.Millisecond)
		}
		jit, ok := linkJitterOpt.Lookup(p.Opts)
		if !ok {
			jit = (lat / 10).Round(time.Millisecond)
		}
		params.Latency, params.Jitter = lat, jit
	case linkBandwidth:
		params.Rate = linkRateOpt.Get(p.Opts)
	case linkClose:
		params.Bytes = linkBytesOpt.Get(p.Opts)
	}
	ev.Params = params.encode(mode)
	return ev, nil
}

// linkParams are the parameters of a link event; each mode has its own.
type linkParams struct {
	// Latency and Jitter are the delay added each way, and by how much
	// it varies either way (latency mode).
	Latency, Jitter time.Duration
	// Rate is the most KB/s a link carries each way (bandwidth mode).
	Rate int
	// Bytes is how many bytes a link carries towards the server before
	// it is closed (close mode).
	Bytes int
}

// encode writes p as the parameters of an event of mode: "latency" and
// "jitter", "rate", or "bytes"; a stall has none.
func (p linkParams) encode(mode string) map[string]string {
	m := map[string]string{}
	switch mode {
	case linkLatency:
		m["latency"], m["jitter"] = p.Latency.String(), p.Jitter.String()
	case linkBandwidth:
		m["rate"] = strconv.Itoa(p.Rate)
	case linkClose:
		m["bytes"] = strconv.Itoa(p.Bytes)
	}
	return m
}

// decodeLinkParams reads the parameters of a link event.
func decodeLinkParams(ev plan.Event) (linkParams, error) {
	d := decodeParams(linkName, ev)
	var p linkParams
	switch ev.Mode {
	case linkLatency:
		p.Latency, p.Jitter = d.duration("latency"), d.duration("jitter")
	case linkBandwidth:
		p.Rate = d.int("rate")
	case linkClose:
		p.Bytes = d.int("bytes")
	}
	return p, d.err
}

// applies is Link's Descriptor.Applies: the proxies stand between client
// containers and servers.
func (l Link) applies(env *Env) error {
	if err := needsCluster(linkName, env); err != nil {
		return err
	}
	if !hasClients(env) {
		return fmt.Errorf("%w: link goes between client containers and the servers, and the run's clients run in the harness (--client go)", ErrNotApplicable)
	}
	if len(env.Service.Describe().Ports) == 0 {
		return fmt.Errorf("%w: the service names no port that clients dial", ErrNotApplicable)
	}
	return nil
}

// Conflicts refuses nemeses that cannot share one run. The link nemesis
// rewrites, in the client containers, the destination of every connection
// to a server; the rules of conn-drop and of partition's client-side modes
// match the servers' addresses there, and would miss the rewritten
// packets. Run those in separate runs (campaign cells).
func Conflicts(ns []Nemesis, opts option.Values) error {
	names := map[string]bool{}
	for _, n := range ns {
		names[n.Describe().Name] = true
	}
	if !names[linkName] {
		return nil
	}
	if names[connDropName] {
		return fmt.Errorf("nemesis link cannot run with conn-drop in one run (conn-drop's rules would miss the connections that link routes through its proxies); run them in separate runs")
	}
	if names[partitionName] {
		modes, given := partitionModeOpt.Lookup(opts)
		if !given || slices.ContainsFunc(modes, isClientMode) {
			return fmt.Errorf("nemesis link cannot run with partition's client-side modes in one run (their rules would miss the connections that link routes through its proxies); set --opt partition.mode to modes between nodes (%s), or run them in separate runs", strings.Join(append(slices.Clone(partitionModes), modeHolder), ", "))
		}
	}
	return nil
}

// linkProxies are the proxies of one run.
type linkProxies struct {
	srv *toxiproxy.ApiServer
	// byClient lists each client container's proxies.
	byClient map[string][]*toxiproxy.Proxy
}

// stop stops every proxy, closing the links through it.
func (lp *linkProxies) stop() {
	for _, ps := range lp.byClient {
		for _, p := range ps {
			p.Stop()
		}
	}
}

// Prepare implements Preparer: it starts a proxy for every client
// container and server port, and sends each container's connections to
// the servers through its proxies.
func (Link) Prepare(ctx context.Context, env *Env) error {
	if env.Cluster == nil {
		return nil
	}
	gw := env.Cluster.Gateway()
	if gw == "" {
		return fmt.Errorf("link: the run's network names no address of the harness")
	}
	ports := servicePorts(env)
	nop := zerolog.Nop()
	lp := &linkProxies{
		srv:      toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), nop),
		byClient: map[string][]*toxiproxy.Proxy{},
	}
	ips := nodeIPs(env.Cluster)
	rules := map[string]string{}
	for _, c := range env.Cluster.Clients() {
		var b strings.Builder
		fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n", LinkChain)
		for _, n := range env.nodes() {
			for _, port := range ports {
				upstream := net.JoinHostPort(ips[n], strconv.Itoa(port))
				p := toxiproxy.NewProxy(lp.srv, fmt.Sprintf("%s-%s-%d", c.Name, n, port), net.JoinHostPort(gw, "0"), upstream)
				if err := p.Start(); err != nil {
					lp.stop()
					return fmt.Errorf("link: start the proxy of %s to %s: %w", c.Name, upstream, err)
				}
				lp.byClient[c.Name] = append(lp.byClient[c.Name], p)
				fmt.Fprintf(&b, "-A %s -d %s/32 -p tcp --dport %d -j DNAT --to-destination %s\n", LinkChain, ips[n], port, p.Listen)
			}
		}
		b.WriteString("COMMIT\n")
		rules[c.Name] = b.String()
	}
	env.setLinks(lp)
	const body = `set -e
iptables -w -t nat -N "$1" 2>/dev/null || true
iptables -w -t nat -C OUTPUT -j "$1" 2>/dev/null || iptables -w -t nat -I OUTPUT 1 -j "$1"
iptables-restore -w --noflush
iptables -w -t nat -S "$1" | grep -c -- '-j DNAT' || true`
	want := fmt.Sprint(len(env.nodes()) * len(ports))
	return onNodes(slices.Sorted(maps.Keys(rules)), func(c string) error {
		out, err := script(ctx, env.Cluster, c, body, []byte(rules[c]), LinkChain)
		if err != nil {
			return fmt.Errorf("link: route %s through its proxies: %w", c, err)
		}
		if got := strings.TrimSpace(out); got != want {
			return fmt.Errorf("link: %s has %s proxy routes, want %s", c, got, want)
		}
		return nil
	})
}

// servicePorts are the ports clients dial on each node, in order.
func servicePorts(env *Env) []int {
	var ports []int
	for _, p := range env.Service.Describe().Ports {
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	sort.Ints(ports)
	return ports
}

// A linkRecord is what an inject keeps for Heal and Observe.
type linkRecord struct {
	proxies []*toxiproxy.Proxy
	toxics  []string
	work    <-chan struct{} // closed when the holder's work ends
}

// Inject adds the mode's toxics to the proxies it aims at.
func (Link) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	params, err := decodeLinkParams(ev)
	if err != nil {
		return nil, err
	}
	lp := env.links()
	if lp == nil {
		return nil, fmt.Errorf("link: the proxies were not prepared")
	}
	details := map[string]any{}
	var rec linkRecord
	var clients []string
	at := env.now()
	switch ev.Mode {
	case linkStall, linkClose:
		if env.Faults == nil || env.ClientOf == nil {
			return nil, fmt.Errorf("link %s: the run tracks no lock holders", ev.Mode)
		}
		v, done, err := env.Faults.Work(ctx, ev.Duration)
		if err != nil {
			return nil, err
		}
		rec.work = done
		c := env.ClientOf(v.Process)
		clients = []string{c}
		details["process"], details["key"], details["client"] = v.Process, v.Key, c
		at = env.now()
		if ev.Mode == linkClose {
			env.sessionsAt(details, []int{v.Process}, at)
		}
	default:
		clients = slices.Sorted(maps.Keys(lp.byClient))
		details["clients"] = clients
	}
	toxics, err := linkToxics(ev, params)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		rec.proxies = append(rec.proxies, lp.byClient[c]...)
	}
	for _, t := range toxics {
		rec.toxics = append(rec.toxics, t.name)
	}
	env.stash(ev, rec)
	for _, p := range rec.proxies {
		for _, t := range toxics {
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(t.json)); err != nil {
				return nil, fmt.Errorf("link %s: add %s to %s: %w", ev.Mode, t.name, p.Name, err)
			}
		}
	}
	details["toxics"] = rec.toxics
	return details, nil
}

// A linkToxic is one toxic to add, by name and JSON.
type linkToxic struct{ name, json string }

// linkToxics are the toxics of ev's mode, with its parameters p, on both
// streams.
func linkToxics(ev plan.Event, p linkParams) ([]linkToxic, error) {
	var typ, attrs string
	var streams = []string{"upstream", "downstream"}
	switch ev.Mode {
	case linkLatency:
		typ, attrs = "latency", fmt.Sprintf(`{"latency":%d,"jitter":%d}`, p.Latency.Milliseconds(), p.Jitter.Milliseconds())
	case linkBandwidth:
		typ, attrs = "bandwidth", fmt.Sprintf(`{"rate":%d}`, p.Rate)
	case linkStall:
		// A latency that outlasts the fault holds every byte back and
		// delivers them all when the heal removes it (toxiproxy's
		// timeout toxic would throw them away).
		typ, attrs = "latency", fmt.Sprintf(`{"latency":%d}`, (ev.Duration+time.Hour).Milliseconds())
	case linkClose:
		typ, attrs, streams = "limit_data", fmt.Sprintf(`{"bytes":%d}`, p.Bytes), []string{"upstream"}
	default:
		return nil, fmt.Errorf("link: unknown mode %q", ev.Mode)
	}
	var out []linkToxic
	for _, s := range streams {
		name := "lockstorm-" + ev.Mode + "-" + s
		out = append(out, linkToxic{name: name, json: fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, typ, s, attrs)})
	}
	return out, nil
}

// Heal removes the toxics, and waits until the holder's work is over.
func (Link) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	v, ok := env.take(ev)
	if !ok {
		return nil, nil
	}
	rec := v.(linkRecord)
	removeToxics(ctx, rec.proxies)
	if rec.work != nil {
		select {
		case <-rec.work:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the holder's work: %w", ctx.Err())
		}
	}
	return nil, nil
}

// removeToxics removes every toxic from the proxies.
func removeToxics(ctx context.Context, ps []*toxiproxy.Proxy) {
	for _, p := range ps {
		for _, n := range toxicNames(p) {
			_ = p.Toxics.RemoveToxic(ctx, n)
		}
	}
}

// toxicNames lists the names of the toxics on p.
func toxicNames(p *toxiproxy.Proxy) []string {
	var out []string
	for _, t := range p.Toxics.GetToxicArray() {
		if w, ok := t.(*toxics.ToxicWrapper); ok {
			out = append(out, w.Name)
		}
	}
	return out
}

// Teardown removes the routes through the proxies from every client
// container and stops the proxies.
func (Link) Teardown(ctx context.Context, env *Env) error {
	if env.Cluster == nil {
		return nil
	}
	if lp := env.setLinks(nil); lp != nil {
		for _, ps := range lp.byClient {
			removeToxics(ctx, ps)
		}
		lp.stop()
	}
	const body = `while iptables -w -t nat -D OUTPUT -j "$1" 2>/dev/null; do :; done
iptables -w -t nat -F "$1" 2>/dev/null || true
iptables -w -t nat -X "$1" 2>/dev/null || true
if iptables -w -t nat -S "$1" >/dev/null 2>&1; then echo "chain $1 is still there" >&2; exit 1; fi`
	return onNodes(clientContainers(env), func(c string) error {
		_, err := script(ctx, env.Cluster, c, body, nil, LinkChain)
		return err
	})
}

// Observe implements Observer: the toxics are on the proxies, and the
// client containers' connections to the servers go through them.
func (Link) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the link fault")
	}
	rec := v.(linkRecord)
	for _, p := range rec.proxies {
		for _, n := range rec.toxics {
			if p.Toxics.GetToxic(n) == nil {
				return fmt.Errorf("proxy %s lacks toxic %s", p.Name, n)
			}
		}
	}
	return checkLinkRoutes(ctx, env, true)
}

// Clean implements Observer: no proxy holds a toxic.
func (Link) Clean(ctx context.Context, env *Env) error {
	lp := env.links()
	if lp == nil {
		return nil
	}
	for _, ps := range lp.byClient {
		for _, p := range ps {
			if n := len(p.Toxics.GetToxicArray()); n > 0 {
				return fmt.Errorf("proxy %s still has %d toxics", p.Name, n)
			}
		}
	}
	return checkLinkRoutes(ctx, env, true)
}

// checkLinkRoutes checks that every client container routes its
// connections to the servers through the proxies (or, with routed false,
// that none does).
func checkLinkRoutes(ctx context.Context, env *Env, routed bool) error {
	want := 0
	if routed {
		want = len(env.nodes()) * len(servicePorts(env))
	}
	return onNodes(clientContainers(env), func(c string) error {
		out, err := script(ctx, env.Cluster, c, `iptables -w -t nat -S "$1" 2>/dev/null | grep -c -- '-j DNAT' || true`, nil, LinkChain)
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(out); got != fmt.Sprint(want) {
			return fmt.Errorf("%s has %s proxy routes, want %d", c, got, want)
		}
		return nil
	})
}

// linkState holds the run's proxies in its Env.
type linkState struct {
	mu sync.Mutex
	lp *linkProxies
}

// links returns the run's proxies, or nil.
func (e *Env) links() *linkProxies {
	e.link.mu.Lock()
	defer e.link.mu.Unlock()
	return e.link.lp
}

// setLinks replaces the run's proxies and returns the old ones.
func (e *Env) setLinks(lp *linkProxies) *linkProxies {
	e.link.mu.Lock()
	defer e.link.mu.Unlock()
	old := e.link.lp
	e.link.lp = lp
	return old
}
