package harness

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

func TestReproduceCommandCarriesEverythingThatShapesTheRun(t *testing.T) {
	rc := store.RunConfig{
		Target: "etcd", Workload: "payment", Variant: "lock", Nemeses: []string{"pause", "kill"},
		TimeLimit: 90 * time.Second, Concurrency: 5, Rate: 50, NemesisInterval: 10 * time.Second,
		Seed: 7, Nodes: 3, TTL: 2 * time.Second, Hold: 20 * time.Millisecond, Keys: 1, Fencing: true,
		Options: map[string]string{"pause.mode": "holder", "x": "a b"},
	}
	want := "lockstorm run --target etcd --workload payment --variant lock --nemesis pause,kill --time-limit 1m30s" +
		" --concurrency 5 --rate 50 --nemesis-interval 10s --nodes 3 --ttl 2s --hold 20ms --keys 1 --fencing" +
		" --opt pause.mode=holder --opt 'x=a b' --seed 7"
	if got := ReproduceCommand(rc); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := fmtDur(time.Hour); got != "1h" {
		t.Errorf("fmtDur(1h) = %s", got)
	}
}
