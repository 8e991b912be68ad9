package nemesis

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/workloads"
)

func TestChainDropsReadsOnlyOurDropRules(t *testing.T) {
	out := `-N LOCKSTORM-PART
-A LOCKSTORM-PART -s 10.1.0.13/32 -j DROP
-A LOCKSTORM-PART -s 10.1.0.12/32 -j DROP
-A INPUT -j LOCKSTORM-PART
`
	if got, want := chainDrops(out), []string{"10.1.0.12", "10.1.0.13"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("chainDrops = %v, want %v", got, want)
	}
	// A rule we did not write must not pass for an empty chain.
	odd := "-N LOCKSTORM-PART\n-A LOCKSTORM-PART -p tcp -j REJECT\n"
	if got := chainDrops(odd); len(got) != 1 || got[0] != "-p tcp -j REJECT" {
		t.Fatalf("chainDrops(odd rule) = %v", got)
	}
	if got := chainDrops("-N LOCKSTORM-PART\n"); len(got) != 0 {
		t.Fatalf("empty chain read as %v", got)
	}
}

func TestParseStates(t *testing.T) {
	got := parseStates("17 T\n18 S\n\n")
	if want := map[string]string{"17": "T", "18": "S"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("parseStates = %v, want %v", got, want)
	}
}

func TestGrudgeRoundTrip(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	g := map[string][]string{"n1": {"n2", "n3"}, "n3": {"n1"}}
	s := formatGrudge(g, nodes)
	if s != "n1:n2,n3;n3:n1" {
		t.Fatalf("formatGrudge = %q", s)
	}
	back, err := Grudge(plan.Event{Params: map[string]string{"grudge": s}})
	if err != nil || !reflect.DeepEqual(back, g) {
		t.Fatalf("Grudge(%q) = %v, %v", s, back, err)
	}
	if _, err := Grudge(plan.Event{Params: map[string]string{"grudge": "n1"}}); err == nil {
		t.Fatal("a grudge entry without peers was accepted")
	}
}

// A holder-aimed fault on a node skips a holder more than half through
// its hold (it is about to let go) and waits for the next grant; with
// short holds any holder does, at once.
func TestHolderNodesAimAtAHolderWithHalfItsHoldAhead(t *testing.T) {
	f := workloads.NewClientFaults()
	env := &Env{Plan: &plan.Plan{Hold: time.Second}, Faults: f}
	f.Holding(1, "n1")
	time.Sleep(600 * time.Millisecond) // process 1 is 0.6 s into a 1-s hold
	go func() {
		time.Sleep(150 * time.Millisecond)
		f.Released(1)
		f.Holding(2, "n2")
	}()
	began := time.Now()
	nodes, err := holderNodes(context.Background(), env)
	if err != nil || !slices.Equal(nodes, []string{"n2"}) {
		t.Fatalf("holderNodes = %v, %v; want the next holder's n2", nodes, err)
	}
	if took := time.Since(began); took < 100*time.Millisecond {
		t.Errorf("returned after %s, before the next grant", took)
	}
	// A fresh holder is taken at once.
	if nodes, err := holderNodes(context.Background(), env); err != nil || !slices.Equal(nodes, []string{"n2"}) {
		t.Errorf("a fresh holder: %v, %v", nodes, err)
	}
	// Short holds: the holder of the moment, however far into its hold.
	short := &Env{Plan: &plan.Plan{Hold: 20 * time.Millisecond}, Faults: f}
	time.Sleep(50 * time.Millisecond)
	began = time.Now()
	if nodes, err := holderNodes(context.Background(), short); err != nil || !slices.Equal(nodes, []string{"n2"}) || time.Since(began) > 50*time.Millisecond {
		t.Errorf("short holds: %v, %v after %s", nodes, err, time.Since(began))
	}
}
