package harness

import (
	"io"
	"log/slog"
	"strings"
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

// fakeLeaseTarget is a fake for the pure logic of resolveHold: a target
// with a given kind of expiry and lease, never set up.
type fakeLeaseTarget struct {
	targets.Target
	expiry targets.Expiry
	lease  time.Duration
}

func (f fakeLeaseTarget) Expiry() targets.Expiry { return f.expiry }
func (f fakeLeaseTarget) Lease() time.Duration   { return f.lease }

// resolveHold turns --hold auto into the default for the lease the target
// reports after Setup, and writes the figure into the results and the
// reproduce command; a hold that was given, zero included, stays.
func TestResolveHoldUsesTheLeaseTheServersGranted(t *testing.T) {
	cases := []struct {
		expiry targets.Expiry
		lease  time.Duration
		hold   time.Duration
		want   time.Duration
	}{
		{targets.NoExpiry, 0, HoldAuto, ShortHold},
		{targets.FixedExpiry, 2 * time.Second, HoldAuto, time.Second},
		{targets.FixedExpiry, 4 * time.Second, HoldAuto, 2 * time.Second},
		// etcd asked for 1500 ms rounds up to a 2-s lease; a ZooKeeper
		// session negotiated up to 6 s.
		{targets.RenewedExpiry, 2 * time.Second, HoldAuto, 5 * time.Second},
		{targets.RenewedExpiry, 6 * time.Second, HoldAuto, 15 * time.Second},
		{targets.RenewedExpiry, 2 * time.Second, 0, 0},
		{targets.FixedExpiry, 2 * time.Second, 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Run.Target, cfg.Run.Hold, cfg.Run.Seed, cfg.Run.Nodes = "fake", c.hold, 3, 3
		r := &run{cfg: cfg.withDefaults(), target: fakeLeaseTarget{expiry: c.expiry, lease: c.lease}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		r.res.Config = r.cfg.Run
		r.res.Command = ReproduceCommand(r.cfg.Run)
		r.resolveHold()
		if r.cfg.Run.Hold != c.want || r.res.Config.Hold != c.want {
			t.Errorf("expiry %d, lease %s, --hold %s: resolved to %s (results %s), want %s", c.expiry, c.lease, c.hold, r.cfg.Run.Hold, r.res.Config.Hold, c.want)
		}
		if want := " --hold " + fmtDur(c.want) + " "; !strings.Contains(r.res.Command, want) {
			t.Errorf("reproduce command %q lacks %q", r.res.Command, want)
		}
	}
	cfg := DefaultConfig()
	cfg.Run.Target, cfg.Run.Hold = "redis", -2*time.Millisecond
	if err := cfg.Validate(); err == nil {
		t.Error("a negative hold other than auto was accepted")
	}
	cfg.Run.Hold = HoldAuto
	if err := cfg.Validate(); err != nil {
		t.Errorf("--hold auto refused: %v", err)
	}
	if got := ReproduceCommand(cfg.withDefaults().Run); !strings.Contains(got, " --hold auto ") {
		t.Errorf("before Setup the reproduce command says %q, want --hold auto", got)
	}
}
