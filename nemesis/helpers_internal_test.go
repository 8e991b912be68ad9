package nemesis

import (
	"reflect"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
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
