package nemesis_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

// modes lists the modes that a nemesis's mode option declares.
func modes(n nemesis.Nemesis) []string {
	d := n.Describe()
	for _, s := range d.Options {
		if s.Name == d.Name+".mode" {
			return s.Choices
		}
	}
	return nil
}

// planOf is a plan of n nodes for schedule tests.
func planOf(seed int64, interval, limit time.Duration, n int) *plan.Plan {
	p := &plan.Plan{Seed: seed, NemesisInterval: interval, TimeLimit: limit, Lease: 2 * time.Second}
	for _, name := range nodeNames(n) {
		p.Nodes = append(p.Nodes, plan.Node{Name: name})
	}
	return p
}

func params(n int, opts map[string]string) schedule.PlanParams {
	return schedule.PlanParams{Start: 5 * time.Second, MaxDuration: 6 * time.Second, Nodes: nodeNames(n), Lease: 2 * time.Second, Opts: opts}
}

func TestSameSeedGivesSameSchedule(t *testing.T) {
	cfg := planOf(42, 10*time.Second, 5*time.Minute, 5)
	a, err := schedule.Generate(cfg, nemesis.Planners(nemesis.All()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := schedule.Generate(cfg, nemesis.Planners(nemesis.All()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different schedules:\n%+v\n%+v", a, b)
	}
	if len(a.Events) < 20 {
		t.Fatalf("got %d events in 5 minutes at a 10s interval", len(a.Events))
	}
	cfg.Seed = 43
	c, err := schedule.Generate(cfg, nemesis.Planners(nemesis.All()))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Events, c.Events) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
}

// views returns, for each node, the sorted set of nodes it exchanges
// packets with both ways (itself included).
func views(g map[string][]string, nodes []string) map[string]string {
	out := map[string]string{}
	for _, a := range nodes {
		var v []string
		for _, b := range nodes {
			if !slices.Contains(g[a], b) && !slices.Contains(g[b], a) {
				v = append(v, b)
			}
		}
		out[a] = strings.Join(v, ",")
	}
	return out
}

func symmetric(g map[string][]string) bool {
	for a, peers := range g {
		for _, b := range peers {
			if !slices.Contains(g[b], a) {
				return false
			}
		}
	}
	return true
}

func TestPartitionShapes(t *testing.T) {
	for _, n := range []int{3, 5} {
		nodes := nodeNames(n)
		for _, mode := range modes(nemesis.Partition{}) {
			if mode == "majorities-ring" && n < 4 || mode == "holder" || strings.HasPrefix(mode, "client") {
				continue // holder and the client modes: the cut is found when the fault starts
			}
			for seed := int64(0); seed < 20; seed++ {
				name := fmt.Sprintf("%d-nodes/%s/seed-%d", n, mode, seed)
				ev, err := nemesis.Partition{}.Plan(rand.New(rand.NewSource(seed)), params(n, map[string]string{"partition.mode": mode}))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g, err := nemesis.Grudge(ev)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkShape(t, name, mode, g, nodes)
				var hit []string
				for _, node := range nodes {
					if len(g[node]) > 0 {
						hit = append(hit, node)
					}
				}
				if !slices.Equal(ev.Targets, hit) {
					t.Errorf("%s: targets %v, want the nodes with rules %v", name, ev.Targets, hit)
				}
			}
		}
	}
}

func checkShape(t *testing.T, name, mode string, g map[string][]string, nodes []string) {
	t.Helper()
	n := len(nodes)
	v := views(g, nodes)
	sizes := map[int]int{}
	for _, node := range nodes {
		sizes[strings.Count(v[node], ",")+1]++
	}
	if mode != "one-way" && !symmetric(g) {
		t.Errorf("%s: grudge %v is not symmetric", name, g)
	}
	switch mode {
	case "one":
		// One node sees only itself; the others see all but it.
		if sizes[1] != 1 || sizes[n-1] != n-1 {
			t.Errorf("%s: view sizes %v, want one node alone: %v", name, sizes, v)
		}
	case "halves", "random-halves":
		if sizes[n/2] < n/2 || sizes[n-n/2] < n-n/2 || len(sizes) > 2 {
			t.Errorf("%s: view sizes %v, want halves of %d and %d: %v", name, sizes, n/2, n-n/2, v)
		}
		if mode == "halves" && v[nodes[0]] != strings.Join(nodes[:n/2], ",") {
			t.Errorf("%s: n1 sees %s, want the first half", name, v[nodes[0]])
		}
	case "majorities-ring":
		seen := map[string]bool{}
		for _, node := range nodes {
			if c := strings.Count(v[node], ",") + 1; c < n/2+1 {
				t.Errorf("%s: %s sees %s, not a majority", name, node, v[node])
			}
			if seen[v[node]] {
				t.Errorf("%s: two nodes see the same majority %s", name, v[node])
			}
			seen[v[node]] = true
		}
	case "bridge":
		var bridges []string
		for _, node := range nodes {
			if len(g[node]) == 0 {
				bridges = append(bridges, node)
			}
		}
		if len(bridges) != 1 || v[bridges[0]] != strings.Join(nodes, ",") {
			t.Fatalf("%s: want one bridge node that sees all, got %v (views %v)", name, bridges, v)
		}
		for _, node := range nodes {
			if node != bridges[0] && !strings.Contains(v[node], bridges[0]) {
				t.Errorf("%s: %s does not see the bridge", name, node)
			}
			if len(g[node]) > 0 && len(g[node]) != (n-1)-(n-1)/2 && len(g[node]) != (n-1)/2 {
				t.Errorf("%s: %s drops %v, want the other half", name, node, g[node])
			}
		}
	case "one-way":
		if len(g) != 1 {
			t.Fatalf("%s: %d nodes drop packets, want 1: %v", name, len(g), g)
		}
		for a, peers := range g {
			if len(peers) != 1 || peers[0] == a {
				t.Errorf("%s: %s drops %v, want one peer", name, a, peers)
			}
		}
	default:
		t.Fatalf("%s: no check for mode", name)
	}
}

func TestPartitionRingOnFiveNodesIsJepsensRing(t *testing.T) {
	ev, err := nemesis.Partition{}.Plan(rand.New(rand.NewSource(1)), params(5, map[string]string{"partition.mode": "majorities-ring"}))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := nemesis.Grudge(ev)
	for node, peers := range g {
		if len(peers) != 2 {
			t.Errorf("%s drops %v, want exactly its two non-neighbours", node, peers)
		}
	}
}

func TestPartitionDrawsOnlyShapesTheClusterAllows(t *testing.T) {
	seen := map[string]bool{}
	for seed := int64(0); seed < 200; seed++ {
		ev, err := nemesis.Partition{}.Plan(rand.New(rand.NewSource(seed)), params(3, nil))
		if err != nil {
			t.Fatal(err)
		}
		seen[ev.Mode] = true
	}
	want := map[string]bool{"holder": true, "one": true, "halves": true, "random-halves": true, "bridge": true, "one-way": true}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("3 nodes drew modes %v, want %v", seen, want)
	}
	_, err := nemesis.Partition{}.Plan(rand.New(rand.NewSource(1)), params(3, map[string]string{"partition.mode": "majorities-ring"}))
	if err == nil || !strings.Contains(err.Error(), "at least 4 nodes") {
		t.Fatalf("ring on 3 nodes: err %v, want a 4-node minimum", err)
	}
	owners := []option.Owner{{Kind: "nemesis", Name: "partition", Specs: nemesis.Partition{}.Describe().Options}}
	err = option.Check(owners, option.Values{"partition.mode": "thirds"})
	if err == nil || !strings.Contains(err.Error(), `unknown value "thirds"`) {
		t.Fatalf("unknown mode: err %v", err)
	}
}

func TestPauseAndKillModeSizes(t *testing.T) {
	want := map[int]map[string]int{
		3: {"one": 1, "minority": 1, "majority": 2, "all": 3, "primaries": 0},
		5: {"one": 1, "minority": 2, "majority": 3, "all": 5, "primaries": 0},
		1: {"one": 1, "minority": 1, "majority": 1, "all": 1, "primaries": 0},
	}
	for _, nem := range []nemesis.Nemesis{nemesis.Pause{}, nemesis.Kill{}} {
		name := nem.Describe().Name
		for n, sizes := range want {
			for mode, size := range sizes {
				ev, err := nem.Plan(rand.New(rand.NewSource(7)), params(n, map[string]string{name + ".mode": mode}))
				if err != nil {
					t.Fatalf("%s %s on %d nodes: %v", name, mode, n, err)
				}
				if ev.Mode != mode || len(ev.Targets) != size {
					t.Errorf("%s %s on %d nodes: mode %s targets %v, want %d nodes", name, mode, n, ev.Mode, ev.Targets, size)
				}
				if !sort.StringsAreSorted(ev.Targets) {
					t.Errorf("%s %s: targets %v not in node order", name, mode, ev.Targets)
				}
			}
		}
	}
}

// Without a mode option, pause, kill and partition aim at the lock holder's
// node for about half of their faults; with one, only at what it names.
func TestHalfOfTheDefaultFaultsAimAtTheHolder(t *testing.T) {
	for _, nem := range []nemesis.Nemesis{nemesis.Pause{}, nemesis.Kill{}, nemesis.Partition{}} {
		name := nem.Describe().Name
		const draws = 1000
		holder := 0
		others := map[string]bool{}
		for seed := int64(0); seed < draws; seed++ {
			ev, err := nem.Plan(rand.New(rand.NewSource(seed)), params(3, nil))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Mode == "holder" {
				holder++
				if len(ev.Targets) != 0 {
					t.Fatalf("%s holder fault names nodes %v at plan time", name, ev.Targets)
				}
			} else {
				others[ev.Mode] = true
			}
		}
		if holder < draws*4/10 || holder > draws*6/10 {
			t.Errorf("%s: %d of %d default faults aim at the holder, want about half", name, holder, draws)
		}
		if len(others) < 3 {
			t.Errorf("%s: the other default faults drew only %v", name, others)
		}
		for seed := int64(0); seed < 200; seed++ {
			ev, err := nem.Plan(rand.New(rand.NewSource(seed)), params(3, map[string]string{name + ".mode": "one"}))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Mode != "one" {
				t.Fatalf("%s.mode=one drew %s", name, ev.Mode)
			}
		}
	}
}

func TestPauseDrawsPrimariesOnlyWhenAsked(t *testing.T) {
	for seed := int64(0); seed < 200; seed++ {
		ev, err := nemesis.Pause{}.Plan(rand.New(rand.NewSource(seed)), params(5, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Mode == "primaries" {
			t.Fatalf("seed %d drew primaries without pause.mode asking for it", seed)
		}
	}
}

func TestPauseOutlastsTheLeaseWhenTheWindowAllows(t *testing.T) {
	for seed := int64(0); seed < 100; seed++ {
		p := params(3, nil) // Lease 2s, window 6s: at least 4s.
		ev, err := nemesis.Pause{}.Plan(rand.New(rand.NewSource(seed)), p)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Duration < 4*time.Second || ev.Duration > p.MaxDuration {
			t.Fatalf("seed %d: pause of %s, want 4s..6s", seed, ev.Duration)
		}
		p.Lease = 10 * time.Second // The floor of 16s does not fit: the window wins.
		ev, err = nemesis.Pause{}.Plan(rand.New(rand.NewSource(seed)), p)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Duration != p.MaxDuration {
			t.Fatalf("seed %d: pause of %s with a long lease, want the whole window %s", seed, ev.Duration, p.MaxDuration)
		}
	}
	ev, err := nemesis.Pause{}.Plan(rand.New(rand.NewSource(1)), params(3, map[string]string{"pause.duration": "750ms"}))
	if err != nil || ev.Duration != 750*time.Millisecond {
		t.Fatalf("pause.duration=750ms: %s, %v", ev.Duration, err)
	}
}

func TestKillEventLastsTheRestartDelay(t *testing.T) {
	ev, err := nemesis.Kill{}.Plan(rand.New(rand.NewSource(1)), params(3, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"restart-delay": "0s"}; !reflect.DeepEqual(ev.Params, want) || ev.Duration != 2*time.Second {
		t.Fatalf("default kill: params %v, duration %s; want %v and one lease", ev.Params, ev.Duration, want)
	}
	ev, err = nemesis.Kill{}.Plan(rand.New(rand.NewSource(1)), params(3, map[string]string{"kill.restart-delay": "9s"}))
	if err != nil {
		t.Fatal(err)
	}
	if kp, err := nemesis.DecodeKillParams(ev); err != nil || kp.RestartDelay != 9*time.Second || ev.Duration != 9*time.Second {
		t.Fatalf("kill.restart-delay=9s: params %v (%+v, %v), duration %s", ev.Params, kp, err, ev.Duration)
	}
	owners := []option.Owner{{Kind: "nemesis", Name: "kill", Specs: nemesis.Kill{}.Describe().Options}}
	if err := option.Check(owners, option.Values{"kill.restart-delay": "-1s"}); err == nil {
		t.Fatal("a negative restart delay was accepted")
	}
}

func TestClockBumpsForwardPastTheLeaseOnARandomSubset(t *testing.T) {
	sizes := map[int]int{}
	for seed := int64(0); seed < 500; seed++ {
		ev, err := nemesis.Clock{}.Plan(rand.New(rand.NewSource(seed)), params(5, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Mode != "bump" && ev.Mode != "strobe" {
			t.Fatalf("seed %d drew mode %s by default", seed, ev.Mode)
		}
		cp, err := nemesis.DecodeClockParams(ev)
		if err != nil {
			t.Fatal(err)
		}
		off := cp.Offset
		if off < 4*time.Second || off > nemesis.DefaultClockMaxOffset {
			t.Fatalf("seed %d: offset %s, want forward, 2×lease..%s", seed, off, nemesis.DefaultClockMaxOffset)
		}
		sizes[len(ev.Targets)]++
		if !sort.StringsAreSorted(ev.Targets) {
			t.Fatalf("seed %d: targets %v not in node order", seed, ev.Targets)
		}
	}
	// Subset sizes 1..5 drawn alike: a majority (3+ of 5) about 3 times in 5.
	for size := 1; size <= 5; size++ {
		if sizes[size] < 60 {
			t.Errorf("clock subsets of %d nodes drawn %d times in 500, want about 100 (sizes %v)", size, sizes[size], sizes)
		}
	}
	if len(sizes) != 5 {
		t.Errorf("clock subset sizes %v, want only 1..5", sizes)
	}
	ev, err := nemesis.Clock{}.Plan(rand.New(rand.NewSource(3)), params(5, map[string]string{"clock.nodes": "majority"}))
	if err != nil || len(ev.Targets) != 3 {
		t.Fatalf("clock.nodes=majority on 5 nodes: %v, %v", ev.Targets, err)
	}
	ev, err = nemesis.Clock{}.Plan(rand.New(rand.NewSource(3)), params(3, map[string]string{
		"clock.mode": "strobe", "clock.direction": "backward", "clock.max-offset": "5s", "clock.strobe-period": "50ms"}))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := nemesis.DecodeClockParams(ev)
	if err != nil || ev.Mode != "strobe" || cp.Offset > -4*time.Second || cp.Offset < -5*time.Second || cp.Period != 50*time.Millisecond {
		t.Fatalf("backward strobe: %+v (%+v, %v)", ev, cp, err)
	}
	ev, err = nemesis.Clock{}.Plan(rand.New(rand.NewSource(3)), params(3, map[string]string{"clock.mode": "reset"}))
	if want := map[string]string{"offset": "0s"}; err != nil || !reflect.DeepEqual(ev.Params, want) || len(ev.Targets) != 3 {
		t.Fatalf("reset: %+v, %v", ev, err)
	}
	// A bad value is refused before any plan, by the option's declaration.
	owners := []option.Owner{{Kind: "nemesis", Name: "clock", Specs: nemesis.Clock{}.Describe().Options}}
	if err := option.Check(owners, option.Values{"clock.direction": "sideways"}); err == nil {
		t.Fatal("clock.direction=sideways was accepted")
	}
}

// The client faults keep their plans, whatever other nemeses are in the
// schedule next to them.
func TestClientFaultsUnaffected(t *testing.T) {
	cfg := planOf(9, 10*time.Second, 2*time.Minute, 3)
	s, err := schedule.Generate(cfg, nemesis.Planners(nemesis.All()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range s.Events {
		switch ev.Nemesis {
		case "client-pause":
			n++
			if want := map[string]string{"stall": "4s"}; !reflect.DeepEqual(ev.Params, want) || ev.Duration != 4*time.Second || len(ev.Targets) != 0 {
				t.Errorf("client-pause event %+v, want a 4s stall (2×lease) on no node", ev)
			}
		case "client-crash":
			n++
			if ev.Duration != 2*time.Second || len(ev.Targets) != 0 {
				t.Errorf("client-crash event %+v, want one lease on no node", ev)
			}
		}
	}
	if n < 2 {
		t.Fatalf("only %d client fault events in %v", n, s.Events)
	}
}

func TestEveryNemesisIsListedOnceWithADescription(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range nemesis.All() {
		d := n.Describe()
		if seen[d.Name] {
			t.Errorf("%s listed twice", d.Name)
		}
		seen[d.Name] = true
		if d.Description == "" || strings.HasSuffix(d.Description, ".") {
			t.Errorf("%s: description %q should be one line without a full stop", d.Name, d.Description)
		}
	}
	for _, want := range []string{"partition", "pause", "kill", "clock", "client-pause", "client-crash"} {
		if !seen[want] {
			t.Errorf("%s is not in All()", want)
		}
	}
}

// With client processes, a partition also cuts clients off from servers:
// half of the faults aim at the holder (its node or its client), and a
// single-server run, which has no node to cut from another, draws only the
// client-side modes.
func TestPartitionDrawsClientModesWithClientProcesses(t *testing.T) {
	for _, n := range []int{1, 3} {
		seen := map[string]int{}
		for seed := int64(0); seed < 400; seed++ {
			p := params(n, nil)
			p.Clients = true
			ev, err := nemesis.Partition{}.Plan(rand.New(rand.NewSource(seed)), p)
			if err != nil {
				t.Fatalf("%d nodes: %v", n, err)
			}
			seen[ev.Mode]++
			if ev.Mode == "clients-node" && len(ev.Targets) != 1 {
				t.Errorf("clients-node names %v, want one node", ev.Targets)
			}
		}
		if seen["client-holder"] == 0 || seen["client-holder-out"] == 0 || seen["clients-node"] == 0 {
			t.Errorf("%d nodes drew %v, want the client modes", n, seen)
		}
		if n == 1 && (seen["holder"] > 0 || seen["one"] > 0) {
			t.Errorf("one node drew a mode between nodes: %v", seen)
		}
		if n == 3 && (seen["holder"] == 0 || seen["halves"] == 0) {
			t.Errorf("three nodes drew no mode between nodes: %v", seen)
		}
	}
	if _, err := (nemesis.Partition{}).Plan(rand.New(rand.NewSource(1)), params(1, nil)); err == nil {
		t.Error("a partition of one node and no client processes was planned")
	}
}
