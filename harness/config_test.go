package harness

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

func TestDefaultHoldFitsHowGrantsExpire(t *testing.T) {
	cases := []struct {
		e     targets.Expiry
		lease time.Duration
		want  time.Duration
	}{
		{targets.NoExpiry, 2 * time.Second, ShortHold},
		{targets.FixedExpiry, 2 * time.Second, time.Second},
		{targets.FixedExpiry, 0, time.Second},
		{targets.FixedExpiry, 10 * time.Second, 5 * time.Second},
		{targets.RenewedExpiry, 2 * time.Second, 5 * time.Second},
		{targets.RenewedExpiry, 4 * time.Second, 10 * time.Second},
	}
	for _, c := range cases {
		if got := DefaultHold(c.e, c.lease); got != c.want {
			t.Errorf("DefaultHold(%d, %s) = %s, want %s", c.e, c.lease, got, c.want)
		}
	}
}

// Resolve sizes --hold auto from the lease the service expects to grant
// for the TTL asked for, which is what the checkers reason with, and
// writes the figure into the plan and its reproduce command; a hold that
// was given, zero included, stays.
func TestResolveSizesTheHoldFromTheExpectedLease(t *testing.T) {
	cases := []struct {
		target      string
		ttl, hold   time.Duration
		lease, want time.Duration
	}{
		{"postgres-row", 0, plan.HoldAuto, 0, ShortHold},
		{"redis", 0, plan.HoldAuto, 2 * time.Second, time.Second},
		{"redis", 4 * time.Second, plan.HoldAuto, 4 * time.Second, 2 * time.Second},
		// etcd rounds up to whole seconds and never below 1.5 election
		// timeouts: 500 ms and 1500 ms both give a 2-s lease.
		{"etcd", 500 * time.Millisecond, plan.HoldAuto, 2 * time.Second, 5 * time.Second},
		{"etcd", 1500 * time.Millisecond, plan.HoldAuto, 2 * time.Second, 5 * time.Second},
		{"etcd", 3 * time.Second, plan.HoldAuto, 3 * time.Second, 7500 * time.Millisecond},
		{"zookeeper", 6 * time.Second, plan.HoldAuto, 6 * time.Second, 15 * time.Second},
		{"etcd", 2 * time.Second, 0, 2 * time.Second, 0},
		{"redis", 2 * time.Second, 300 * time.Millisecond, 2 * time.Second, 300 * time.Millisecond},
	}
	for _, c := range cases {
		p := plan.Default()
		p.Target, p.TTL, p.Hold, p.Seed = c.target, c.ttl, c.hold, 3
		r, err := Resolve(p)
		if err != nil {
			t.Fatalf("%s --ttl %s: %v", c.target, c.ttl, err)
		}
		if r.Plan.Lease != c.lease || r.Plan.Hold != c.want {
			t.Errorf("%s --ttl %s --hold %s: lease %s, hold %s; want %s, %s", c.target, c.ttl, c.hold, r.Plan.Lease, r.Plan.Hold, c.lease, c.want)
		}
		if r.Plan.HoldAuto != (c.hold == plan.HoldAuto) {
			t.Errorf("%s --hold %s: HoldAuto %v", c.target, c.hold, r.Plan.HoldAuto)
		}
		if want := " --hold " + r.Plan.Hold.String() + " "; c.want > 0 && !strings.Contains(strings.ReplaceAll(r.Plan.Command(), "m0s", "m"), want) {
			t.Errorf("reproduce command %q lacks %q", r.Plan.Command(), want)
		}
	}
}

// A lease the servers granted that differs from the expected one replaces
// it, with a note, and an automatic hold follows it.
func TestGrantedLeaseReplacesTheExpectedOne(t *testing.T) {
	p := plan.Default()
	p.Target, p.Seed = "zookeeper", 1
	res, err := Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{Resolved: res, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.res = store.RunResult{Plan: r.Plan}
	r.granted(4 * time.Second) // the servers granted another lease than expected
	if r.Plan.Lease != 4*time.Second || r.res.Plan.Lease != 4*time.Second || r.Plan.Hold != 10*time.Second {
		t.Errorf("lease %s (results %s), hold %s; want 4s and 10s", r.Plan.Lease, r.res.Plan.Lease, r.Plan.Hold)
	}
	if len(r.res.Notes) != 1 || !strings.Contains(r.res.Notes[0].Text, "granted a lease of 4s where 2s was expected") {
		t.Errorf("notes %v", r.res.Notes)
	}
	if r.Plan.Nodes[0].Ports["client"] != 2181 {
		t.Errorf("ports not recorded: %+v", r.Plan.Nodes[0])
	}
	if !strings.Contains(r.res.Command, "--hold 10s") {
		t.Errorf("reproduce %q does not carry the hold", r.res.Command)
	}
}

// Every bad setting is refused before anything starts, naming it.
func TestResolveRefusesBadSettings(t *testing.T) {
	cases := []struct {
		mutate func(*plan.Plan)
		want   string
	}{
		{func(p *plan.Plan) { p.Target = "redix" }, `target: unknown target "redix"`},
		{func(p *plan.Plan) { p.Workload = "mutx" }, `workload: unknown workload "mutx"`},
		{func(p *plan.Plan) { p.Nemeses = []string{"pausе"} }, `nemesis: unknown nemesis`},
		{func(p *plan.Plan) { p.Variant = "fast" }, `variant: unknown workload variant "fast": workload mutex has no variants`},
		{func(p *plan.Plan) { p.Options = map[string]string{"pause.mod": "holder"} }, "pause.mod: unknown option (options of pause: pause.duration, pause.mode)"},
		{func(p *plan.Plan) { p.Options = map[string]string{"kill.restart-delay": "banana"} }, `kill.restart-delay="banana": want a duration`},
		{func(p *plan.Plan) { p.Options = map[string]string{"partition.mode": "nope"} }, `partition.mode="nope": unknown value "nope"`},
		{func(p *plan.Plan) { p.Target = "etcd"; p.Options = map[string]string{"etcd.election": "100ms"} }, "etcd.election=100ms must be at least 5 x etcd.heartbeat"},
		{func(p *plan.Plan) { p.Target = "redis-sentinel"; p.Nodes = []plan.Node{{Name: "n1"}} }, "needs at least 2 nodes"},
	}
	for _, c := range cases {
		p := plan.Default()
		p.Target = "redis"
		c.mutate(&p)
		_, err := Resolve(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error saying %q", err, c.want)
		}
	}
}
