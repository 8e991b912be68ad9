package nemesis_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// conformanceNodes is the cluster size: five nodes take every partition
// shape, Jepsen's ring included. Two client containers let the client-side
// faults aim at the fake holder's machine (c1) and leave another alone.
const (
	conformanceNodes   = 5
	conformanceClients = 2
)

// fakeHolderProcess is the process number of the fake lock holder that
// takes the client faults.
const fakeHolderProcess = 7

// variants are option sets tried for a nemesis besides each of its modes.
var variants = map[string][]option.Values{
	"kill":  {{"kill.restart-delay": "2s", "kill.mode": "minority"}},
	"clock": {{"clock.mode": "bump", "clock.direction": "backward"}},
}

// baseOpts keep the client faults short.
var baseOpts = option.Values{"client-pause.stall": "1500ms", "link.latency": "300ms", "link.rate": "64"}

// An injection is one measured Inject.
type injection struct {
	name    string
	inject  time.Duration
	observe time.Duration
	heal    time.Duration
}

// TestDockerNemesisConformance applies every nemesis in nemesis.All, in
// each of its modes, to a real five-node cluster running redis-server, and
// checks from outside that the fault is in effect after Inject and that
// nothing is left after Heal and after Teardown. A nemesis is tested with
// no change here once it is listed in All and implements nemesis.Observer.
func TestDockerNemesisConformance(t *testing.T) {
	cl := dockerCluster(t, conformanceNodes)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	p := &plan.Plan{Seed: 20160208, NemesisInterval: 10 * time.Second, TimeLimit: time.Minute, Lease: time.Second,
		Client: plan.ClientProcess}
	for _, n := range cl.Nodes() {
		p.Nodes = append(p.Nodes, plan.Node{Name: n.Name, IP: n.IP})
	}
	tgt := &conformanceTarget{}
	if _, err := tgt.Setup(ctx, &targets.Env{Cluster: cl, Plan: p}); err != nil {
		t.Fatalf("set up redis servers: %v", err)
	}
	faults := workloads.NewClientFaults()
	stopHolder := runFakeHolder(faults, p.Nodes[1].Name)
	defer stopHolder()
	env := &nemesis.Env{Cluster: cl, Service: tgt, Plan: p, Faults: faults, Log: testLogger(t),
		ClientOf: func(int) string { return "c1" }}
	var measured []injection
	for _, nem := range nemesis.All() {
		name := nem.Describe().Name
		t.Run(name, func(t *testing.T) {
			if err := nem.Describe().Applicable(env); err != nil {
				t.Fatalf("not applicable to a 5-node redis cluster with every optional interface: %v", err)
			}
			obs, err := observerOf(nem)
			if err != nil {
				t.Fatal(err)
			}
			if prep, ok := nem.(nemesis.Preparer); ok {
				// Only for this nemesis's own tests: the link routes
				// change what the servers see of the clients.
				if err := prep.Prepare(ctx, env); err != nil {
					t.Fatalf("prepare: %v", err)
				}
				defer func() {
					if err := nem.Teardown(ctx, env); err != nil {
						t.Errorf("teardown: %v", err)
					}
				}()
			}
			for _, opts := range optionSets(nem) {
				label := optsLabel(name, opts)
				t.Run(label, func(t *testing.T) {
					p.Options = opts
					m := exercise(ctx, t, env, nem, obs)
					m.name = name + " " + label
					measured = append(measured, m)
				})
			}
		})
	}
	t.Run("teardown", func(t *testing.T) {
		for _, nem := range nemesis.All() {
			if err := nem.Teardown(ctx, env); err != nil {
				t.Errorf("teardown %s: %v", nem.Describe().Name, err)
			}
		}
		if err := nothingLeft(ctx, env, true); err != nil {
			t.Error(err)
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "time to effect on %d nodes (Inject), then Observe and Heal:\n", conformanceNodes)
	for _, m := range measured {
		fmt.Fprintf(&b, "  %-40s inject %7.1f ms  observe %7.1f ms  heal %7.1f ms\n", m.name,
			ms(m.inject), ms(m.observe), ms(m.heal))
	}
	t.Log(b.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// optionSets lists the option sets to try a nemesis with: each of the
// modes its mode option declares, then its variants.
func optionSets(nem nemesis.Nemesis) []option.Values {
	var sets []option.Values
	with := func(extra map[string]string) option.Values {
		o := maps.Clone(baseOpts)
		maps.Copy(o, extra)
		return o
	}
	d := nem.Describe()
	var modes []string
	for _, s := range d.Options {
		if s.Name == d.Name+".mode" {
			modes = s.Choices
		}
	}
	for _, mode := range modes {
		sets = append(sets, with(map[string]string{d.Name + ".mode": mode}))
	}
	if len(modes) == 0 {
		sets = append(sets, with(nil))
	}
	for _, v := range variants[d.Name] {
		sets = append(sets, with(v))
	}
	return sets
}

func optsLabel(name string, opts option.Values) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if _, base := baseOpts[k]; !base {
			parts = append(parts, strings.TrimPrefix(k, name+".")+"="+opts[k])
		}
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ",")
}

// exercise plans one event, injects it, observes it, heals it, and checks
// that nothing is left.
func exercise(ctx context.Context, t *testing.T, env *nemesis.Env, nem nemesis.Nemesis, obs nemesis.Observer) injection {
	s, err := schedule.Generate(env.Plan, nemesis.Planners([]nemesis.Nemesis{nem}))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	ev := s.Events[0]
	t.Logf("event: mode=%s targets=%v duration=%s params=%v", ev.Mode, ev.Targets, ev.Duration, ev.Params)
	if ev.Nemesis == "conn-drop" {
		// Idle connections from the holder's machine, which only a reset
		// that reaches the servers can end.
		if err := openIdleConns(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	var m injection
	begin := time.Now()
	details, err := nem.Inject(ctx, env, ev)
	m.inject = time.Since(begin)
	if err != nil {
		_, _ = nem.Heal(ctx, env, ev)
		t.Fatalf("inject: %v", err)
	}
	t.Logf("inject took %s: %v", m.inject, details)
	begin = time.Now()
	oerr := obs.Observe(ctx, env, ev, details)
	if oerr == nil {
		oerr = extraCheck(ctx, env, ev, details)
	}
	m.observe = time.Since(begin)
	begin = time.Now()
	_, herr := nem.Heal(ctx, env, ev)
	m.heal = time.Since(begin)
	if oerr != nil {
		t.Errorf("fault not in effect after inject: %v", oerr)
	}
	if herr != nil {
		t.Fatalf("heal: %v", herr)
	}
	if err := obs.Clean(ctx, env); err != nil {
		t.Errorf("%s's Clean after heal: %v", ev.Nemesis, err)
	}
	if err := nothingLeft(ctx, env, false); err != nil {
		t.Errorf("after heal: %v", err)
	}
	return m
}

// extraCheck looks at a fault through what the servers themselves show,
// where this test knows how: redis answers across a partition, redis TIME
// under a clock shift, and the victim of a client fault.
func extraCheck(ctx context.Context, env *nemesis.Env, ev plan.Event, details any) error {
	switch ev.Nemesis {
	case "partition":
		g, err := nemesis.Grudge(ev)
		if err != nil || len(g) == 0 {
			return err // holder: the cut is only known to Inject
		}
		ips := map[string]string{}
		for _, n := range env.Cluster.Nodes() {
			ips[n.Name] = n.IP
		}
		// One pair is enough here: Observe has probed every pair.
		for _, a := range slices.Sorted(maps.Keys(g)) {
			b := g[a][0]
			out, err := targets.Sh(ctx, env.Cluster, b, "timeout 2 redis-cli -h "+ips[a]+" ping || true")
			if err != nil {
				return err
			}
			if strings.Contains(out, "PONG") {
				return fmt.Errorf("redis on %s answered %s across the partition", a, b)
			}
			break
		}
	case "clock":
		cp, err := nemesis.DecodeClockParams(ev)
		if err != nil {
			return err
		}
		off := cp.Offset
		for _, node := range ev.Targets {
			out, err := targets.Sh(ctx, env.Cluster, node, "redis-cli TIME | head -1; date +%s")
			if err != nil {
				return err
			}
			f := strings.Fields(out)
			if len(f) != 2 {
				return fmt.Errorf("redis TIME on %s: %q", node, out)
			}
			rt, _ := strconv.ParseInt(f[0], 10, 64)
			now, _ := strconv.ParseInt(f[1], 10, 64)
			shift := time.Duration(rt-now) * time.Second
			want := off
			if ev.Mode == "strobe" && (shift < 0) != (off < 0) {
				want = -off
			}
			if d := shift - want; d < -2*time.Second || d > 2*time.Second {
				return fmt.Errorf("redis TIME on %s is %s off the real time, want %s", node, shift, want)
			}
		}
	case "link":
		return checkLink(ctx, env, ev)
	case "client-pause", "client-crash", "conn-drop":
		if p := details.(map[string]any)["process"]; p != fakeHolderProcess {
			return fmt.Errorf("victim %v, want the fake holder %d", p, fakeHolderProcess)
		}
		if ev.Nemesis == "conn-drop" {
			// The servers themselves dropped the idle connections.
			return wait.For(ctx, 3*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
				n, err := serverConnsFrom(ctx, env, holderIP(env))
				if err == nil && n > 0 {
					err = fmt.Errorf("redis servers still list %d connections from the holder's machine", n)
				}
				return err
			})
		}
	}
	return nil
}

// checkLink looks at a link fault through redis-cli on the fake holder's
// machine, talking to n1's server through its proxy: a round trip takes
// twice the latency; 64 KB take a second at 64 KB/s; a stalled link does
// not answer; a closing link cuts a command longer than its byte budget.
func checkLink(ctx context.Context, env *nemesis.Env, ev plan.Event) error {
	ip := env.Cluster.Nodes()[0].IP
	c := env.ClientOf(fakeHolderProcess)
	timed := func(cmd string) (time.Duration, string, error) {
		begin := time.Now()
		out, err := targets.Sh(ctx, env.Cluster, c, cmd)
		return time.Since(begin), out, err
	}
	lp, err := nemesis.DecodeLinkParams(ev)
	if err != nil {
		return err
	}
	switch ev.Mode {
	case "latency":
		lat, jit := lp.Latency, lp.Jitter
		took, out, err := timed("redis-cli -h " + ip + " PING")
		if err != nil || !strings.Contains(out, "PONG") {
			return fmt.Errorf("PING through the proxy: %q, %v", out, err)
		}
		if took < 2*(lat-jit) {
			return fmt.Errorf("PING took %s, want at least twice the latency of %s±%s", took, lat, jit)
		}
	case "bandwidth":
		took, out, err := timed("head -c 65536 /dev/zero | tr '\\0' x | redis-cli -h " + ip + " -x SET lockstorm-big")
		if err != nil || !strings.Contains(out, "OK") {
			return fmt.Errorf("SET 64 KB through the proxy: %q, %v", out, err)
		}
		if took < 700*time.Millisecond {
			return fmt.Errorf("64 KB at %d KB/s took only %s", lp.Rate, took)
		}
	case "stall":
		out, err := targets.Sh(ctx, env.Cluster, c, "timeout 2 redis-cli -h "+ip+" PING; echo status $?")
		if err != nil || strings.Contains(out, "PONG") || !strings.Contains(out, "status 124") {
			return fmt.Errorf("PING across a stalled link: %q, %v; want no answer", out, err)
		}
	case "close":
		out, err := targets.Sh(ctx, env.Cluster, c, "timeout 5 redis-cli -h "+ip+" ECHO 0123456789abcdefghij 2>&1; echo status $?")
		if err != nil || strings.Contains(out, "0123456789abcdefghij") {
			return fmt.Errorf("ECHO across a closing link: %q, %v; want the connection closed", out, err)
		}
	}
	return nil
}

// holderIP is the address of the fake holder's client container.
func holderIP(env *nemesis.Env) string {
	for _, c := range env.Cluster.Clients() {
		if c.Name == env.ClientOf(fakeHolderProcess) {
			return c.IP
		}
	}
	return ""
}

// openIdleConns opens, from the fake holder's client container, an idle
// connection to the redis server of every node, and waits until every
// server lists it.
func openIdleConns(ctx context.Context, env *nemesis.Env) error {
	var ips []string
	for _, n := range env.Cluster.Nodes() {
		ips = append(ips, n.IP)
	}
	const sh = `for ip in "$@"; do setsid bash -c "exec 3<>/dev/tcp/$ip/6379; exec sleep 20" </dev/null >/dev/null 2>&1 & done`
	res, err := env.Cluster.Exec(ctx, env.ClientOf(fakeHolderProcess), append([]string{"bash", "-c", sh, "bash"}, ips...), runtime.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return fmt.Errorf("open idle connections: %w", err)
	}
	return wait.For(ctx, 5*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		n, err := serverConnsFrom(ctx, env, holderIP(env))
		if err == nil && n < len(ips) {
			err = fmt.Errorf("redis servers list %d of the %d idle connections", n, len(ips))
		}
		return err
	})
}

// serverConnsFrom counts the client connections from ip that the redis
// servers of all nodes list.
func serverConnsFrom(ctx context.Context, env *nemesis.Env, ip string) (int, error) {
	total := 0
	for _, n := range env.Cluster.Nodes() {
		out, err := targets.Sh(ctx, env.Cluster, n.Name, "redis-cli CLIENT LIST")
		if err != nil {
			return 0, err
		}
		total += strings.Count(out, "addr="+ip+":")
	}
	return total, nil
}

// nothingLeft checks every kind of trace a fault could leave, for every
// nemesis at once: iptables rules (after a heal, empty LOCKSTORM-* chains
// and the jumps to them may stay; after Teardown, nothing but the default
// policies), stopped server processes, servers that do not run, and
// shifted clocks.
func nothingLeft(ctx context.Context, env *nemesis.Env, tornDown bool) error {
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for _, c := range env.Cluster.Clients() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := `iptables -w -S`
			if tornDown {
				// The link nemesis's routes stay from its Prepare to
				// its Teardown.
				cmd += `; iptables -w -t nat -S | grep LOCKSTORM || true`
			}
			out, err := targets.Sh(ctx, env.Cluster, c.Name, cmd)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", c.Name, err))
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(line, "-P ") && !(!tornDown && emptyChainLine(line)) {
					problems = append(problems, fmt.Sprintf("%s: iptables rule left: %s", c.Name, line))
				}
			}
		}()
	}
	for _, node := range env.Plan.NodeNames() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := targets.Sh(ctx, env.Cluster, node, `iptables -w -S; echo ---
for p in $(pgrep -x redis-server); do echo "pid $p $(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f1)"; done; echo ---
lockstorm-clock get`)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", node, err))
				return
			}
			parts := strings.Split(out, "---\n")
			if len(parts) != 3 {
				problems = append(problems, fmt.Sprintf("%s: cannot read %q", node, out))
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(parts[0]), "\n") {
				switch {
				case strings.HasPrefix(line, "-P "):
				case !tornDown && emptyChainLine(line):
				default:
					problems = append(problems, fmt.Sprintf("%s: iptables rule left: %s", node, line))
				}
			}
			procs := strings.TrimSpace(parts[1])
			if procs == "" {
				problems = append(problems, node+": redis-server does not run")
			}
			for _, line := range strings.Split(procs, "\n") {
				if strings.HasSuffix(line, " T") {
					problems = append(problems, fmt.Sprintf("%s: redis-server stopped: %s", node, line))
				}
			}
			if off := strings.TrimSpace(parts[2]); off != "0" {
				problems = append(problems, fmt.Sprintf("%s: clock offset %s ns", node, off))
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// emptyChainLine reports whether an iptables -S line only declares a
// nemesis chain (LOCKSTORM-*) or jumps to one: what a healed but not yet
// torn-down network nemesis may leave.
func emptyChainLine(line string) bool {
	f := strings.Fields(line)
	switch {
	case len(f) == 2 && f[0] == "-N":
		return strings.HasPrefix(f[1], "LOCKSTORM-")
	case len(f) == 4 && f[0] == "-A" && (f[1] == "INPUT" || f[1] == "OUTPUT") && f[2] == "-j":
		return strings.HasPrefix(f[3], "LOCKSTORM-")
	}
	return false
}

// runFakeHolder plays a lock holder that acquires all the time, so that
// armed client faults find a victim: it stalls or abandons as told.
func runFakeHolder(f *workloads.ClientFaults, node string) (stop func()) {
	f.Holding(fakeHolderProcess, node)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			a := f.AfterAcquire(fakeHolderProcess, "conformance-key")
			if a.Stall > 0 {
				time.Sleep(a.Stall)
				a.Done()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
