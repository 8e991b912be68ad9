package option

import (
	"testing"
	"time"
)

func TestUnreadListsOnlyOptionsThatNoUsedOwnerReads(t *testing.T) {
	keepalive := Duration{Name: "postgres.keepalive", Min: 3 * time.Second}.Spec()
	tick := Duration{Name: "zookeeper.tick"}.Spec()
	owners := []Owner{
		{Kind: "target", Name: "postgres-advisory", Specs: []Spec{keepalive}},
		{Kind: "target", Name: "postgres-row", Specs: []Spec{keepalive}},
		{Kind: "target", Name: "zookeeper", Specs: []Spec{tick}},
	}
	used := func(o Owner) bool { return o.Name == "postgres-advisory" }
	got := Unread(owners, used, Values{"postgres.keepalive": "3s", "zookeeper.tick": "100ms", "no.such": "1"})
	if len(got) != 1 || got[0].Name != "zookeeper.tick" || got[0].Belongs() != "target zookeeper" {
		t.Errorf("Unread = %+v, want zookeeper.tick of target zookeeper", got)
	}
	none := func(Owner) bool { return false }
	got = Unread(owners, none, Values{"postgres.keepalive": "3s"})
	if len(got) != 1 || got[0].Belongs() != "target postgres-advisory or target postgres-row" {
		t.Errorf("with no postgres target in the run: %+v", got)
	}
}
