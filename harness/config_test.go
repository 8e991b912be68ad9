package harness

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

func TestDefaultHoldFitsHowGrantsExpire(t *testing.T) {
	cases := []struct {
		e    targets.Expiry
		ttl  time.Duration
		want time.Duration
	}{
		{targets.NoExpiry, 2 * time.Second, ShortHold},
		{targets.FixedExpiry, 2 * time.Second, time.Second},
		{targets.FixedExpiry, 0, time.Second},
		{targets.FixedExpiry, 10 * time.Second, 5 * time.Second},
		{targets.RenewedExpiry, 2 * time.Second, 5 * time.Second},
		{targets.RenewedExpiry, 4 * time.Second, 10 * time.Second},
	}
	for _, c := range cases {
		if got := DefaultHold(c.e, c.ttl); got != c.want {
			t.Errorf("DefaultHold(%d, %s) = %s, want %s", c.e, c.ttl, got, c.want)
		}
	}
}

// resolve turns --hold auto into each target's default before anything
// starts, so that results.json and the reproduce command carry the figure;
// a hold that was given, zero included, stays.
func TestResolveSizesTheAutoHoldByTarget(t *testing.T) {
	cases := []struct {
		target string
		ttl    time.Duration
		hold   time.Duration
		want   time.Duration
	}{
		{"inmemory", 0, HoldAuto, ShortHold},
		{"postgres-row", 0, HoldAuto, ShortHold},
		{"postgres-advisory", 0, HoldAuto, ShortHold},
		{"postgres-row-expiry", 0, HoldAuto, time.Second},
		{"redis", 0, HoldAuto, time.Second},
		{"redis", 4 * time.Second, HoldAuto, 2 * time.Second},
		{"redlock", 0, HoldAuto, time.Second},
		{"redis-sentinel", 0, HoldAuto, time.Second},
		{"etcd", 0, HoldAuto, 5 * time.Second},
		{"zookeeper", 0, HoldAuto, 5 * time.Second},
		{"etcd", 0, 0, 0},
		{"redis", 0, 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Run.Target, cfg.Run.TTL, cfg.Run.Hold = c.target, c.ttl, c.hold
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		r := &run{cfg: cfg.withDefaults()}
		if err := r.resolve(); err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if got := r.cfg.Run.Hold; got != c.want {
			t.Errorf("%s --ttl %s --hold %s: resolved to %s, want %s", c.target, c.ttl, c.hold, got, c.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Run.Target, cfg.Run.Hold = "redis", -2*time.Millisecond
	if err := cfg.Validate(); err == nil {
		t.Error("a negative hold other than auto was accepted")
	}
}
