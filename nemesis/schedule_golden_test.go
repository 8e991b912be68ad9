package nemesis_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// goldenSchedules is the file of schedule digests that
// TestSchedulesAreUnchanged compares against.
const goldenSchedules = "testdata/schedules.golden"

var (
	updateSchedules = flag.Bool("schedules.update", false, "rewrite "+goldenSchedules+" from the code as it is")
	dumpSchedules   = flag.String("schedules.dump", "", "write every schedule of TestSchedulesAreUnchanged, in full, to this file")
)

// scheduleCases are the nemeses (comma lists) and option sets whose
// schedules must not change: every mode of every nemesis, the defaults,
// and the options that change what Plan draws or writes into an event's
// parameters.
var scheduleCases = []struct {
	nemeses string
	opts    []option.Values
}{
	{"partition", append(modeSets("partition", "one", "halves", "random-halves", "majorities-ring", "bridge", "one-way", "holder",
		"client-holder", "client-holder-node", "clients-node", "client-holder-out", "client-holder-in"),
		option.Values{"partition.duration": "3s"})},
	{"pause", append(modeSets("pause", "one", "minority", "majority", "all", "primaries", "holder"),
		option.Values{"pause.duration": "750ms"})},
	{"kill", append(modeSets("kill", "one", "minority", "majority", "all", "primaries", "holder"),
		option.Values{"kill.restart-delay": "3s"}, option.Values{"kill.restart-delay": "2s", "kill.mode": "minority"})},
	{"clock", append(modeSets("clock", "bump", "strobe", "reset", "bump,strobe,reset"),
		option.Values{"clock.direction": "backward"}, option.Values{"clock.direction": "both"},
		option.Values{"clock.nodes": "one"}, option.Values{"clock.nodes": "majority", "clock.duration": "4s"},
		option.Values{"clock.mode": "strobe", "clock.max-offset": "5s", "clock.strobe-period": "50ms"})},
	{"client-pause", []option.Values{nil, {"client-pause.stall": "1500ms"}}},
	{"client-crash", []option.Values{nil}},
	{"conn-drop", []option.Values{nil, {"conn-drop.duration": "7s"}}},
	{"link", append(modeSets("link", "latency", "bandwidth", "stall", "close"),
		option.Values{"link.mode": "latency", "link.latency": "3ms"},
		option.Values{"link.mode": "latency", "link.latency": "40ms", "link.jitter": "0ms"},
		option.Values{"link.mode": "bandwidth", "link.rate": "64"},
		option.Values{"link.mode": "close", "link.bytes": "0"},
		option.Values{"link.duration": "2s"})},
	{"pause,kill", []option.Values{nil}},
	{"partition,clock,client-pause", []option.Values{nil}},
	{"partition,pause,kill,clock,client-pause,client-crash,conn-drop,link", []option.Values{nil}},
}

// modeSets is the default option set (nil) and one set per mode.
func modeSets(name string, modes ...string) []option.Values {
	sets := []option.Values{nil}
	for _, m := range modes {
		sets = append(sets, option.Values{name + ".mode": m})
	}
	return sets
}

// TestSchedulesAreUnchanged draws the schedules of every case above, for
// 1, 3 and 5 nodes, clients in the harness and in containers, two leases
// and two seeds, and compares one digest per case (of each schedule's
// JSON, as the plan stores it, or its error) with
// testdata/schedules.golden, written from the code before nemeses took
// typed parameters. The same seed must give the same schedule, byte for
// byte, parameters included.
func TestSchedulesAreUnchanged(t *testing.T) {
	var got []string
	var dump strings.Builder
	for _, c := range scheduleCases {
		var ns []nemesis.Nemesis
		for _, name := range strings.Split(c.nemeses, ",") {
			n, err := nemesis.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, n)
		}
		for _, opts := range c.opts {
			key := c.nemeses + " " + optsKey(opts)
			sum := sha256.New()
			for _, nodes := range []int{1, 3, 5} {
				for _, client := range []string{plan.ClientGo, plan.ClientProcess} {
					for _, lease := range []time.Duration{300 * time.Millisecond, 2 * time.Second} {
						for _, seed := range []int64{7, 20160208} {
							p := planOf(seed, 10*time.Second, time.Minute, nodes)
							p.Lease, p.Client, p.Options = lease, client, opts
							s, err := schedule.Generate(p, nemesis.Planners(ns))
							var out string
							if err != nil {
								out = "error: " + err.Error()
							} else {
								b, err := json.Marshal(s)
								if err != nil {
									t.Fatal(err)
								}
								out = string(b)
							}
							fmt.Fprintf(sum, "%s\n", out)
							fmt.Fprintf(&dump, "%s nodes=%d client=%s lease=%s seed=%d\n%s\n", key, nodes, client, lease, seed, out)
						}
					}
				}
			}
			got = append(got, fmt.Sprintf("%s\t%x", key, sum.Sum(nil)[:16]))
		}
	}
	if *dumpSchedules != "" {
		if err := os.WriteFile(*dumpSchedules, []byte(dump.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if *updateSchedules {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenSchedules, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenSchedules)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want = append(want, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d schedules drawn, %s has %d", len(got), goldenSchedules, len(want))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad++; bad <= 10 {
				t.Errorf("schedule changed:\n got  %s\n want %s", got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d schedules changed (see them in full with -schedules.dump=FILE)", bad, len(got))
	}
}

func optsKey(opts option.Values) string {
	if len(opts) == 0 {
		return "default"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		parts = append(parts, k+"="+opts[k])
	}
	return strings.Join(parts, ",")
}
