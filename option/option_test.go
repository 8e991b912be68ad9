package option

import (
	"slices"
	"testing"
	"time"
)

func TestUnusedNotesOnlyOptionsThatNoUsedOwnerReads(t *testing.T) {
	keepalive := Duration{Name: "postgres.keepalive", Min: 3 * time.Second}.Spec()
	tick := Duration{Name: "zookeeper.tick"}.Spec()
	owners := []Owner{
		{Kind: "target", Name: "postgres-advisory", Specs: []Spec{keepalive}},
		{Kind: "target", Name: "postgres-row", Specs: []Spec{keepalive}},
		{Kind: "target", Name: "zookeeper", Specs: []Spec{tick}},
	}
	used := func(o Owner) bool { return o.Name == "postgres-advisory" }
	got := Unused(owners, used, Values{"postgres.keepalive": "3s", "zookeeper.tick": "100ms"})
	want := []string{"Option zookeeper.tick is read by target zookeeper, which this run does not use; it had no effect."}
	if !slices.Equal(got, want) {
		t.Errorf("Unused = %q, want %q", got, want)
	}
	none := func(Owner) bool { return false }
	if got := Unused(owners, none, Values{"postgres.keepalive": "3s"}); len(got) != 2 {
		t.Errorf("with no postgres target in the run, want a note per owner, got %q", got)
	}
}
