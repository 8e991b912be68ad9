package checker

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker/internal/synthetic"
)

func TestSyntheticHistories(t *testing.T) {
	cases := []struct {
		claim   string
		cfg     synthetic.Config
		want    Status
		meKinds []string
	}{
		{
			claim: "a correct blocking lock with timeouts and crashes is valid",
			cfg: synthetic.Config{Records: 20_000, Shape: synthetic.Blocking, Tokens: true, Writes: true,
				Timeouts: 0.05, Crashes: 0.01, Lease: 50 * time.Millisecond, FaultEvery: time.Second},
			want: Valid,
		},
		{
			claim: "a correct try-lock without lease, with crashes, is valid",
			cfg:   synthetic.Config{Records: 20_000, Shape: synthetic.TryLock, Crashes: 0.01},
			want:  Valid,
		},
		{
			claim: "a blocking lock that once grants a held lock is invalid",
			cfg: synthetic.Config{Records: 20_000, Shape: synthetic.Blocking, Tokens: true,
				Lease: time.Second, Overlaps: 1},
			want: Invalid, meKinds: []string{KindGrantedEarly},
		},
		{
			claim: "a try-lock without lease that grants held locks three times is invalid",
			cfg:   synthetic.Config{Records: 20_000, Shape: synthetic.TryLock, Overlaps: 3},
			want:  Invalid, meKinds: []string{KindOverlap, KindOverlap, KindOverlap},
		},
	}
	for _, c := range cases {
		t.Run(c.claim, func(t *testing.T) {
			h := synthetic.Generate(c.cfg)
			rep := Check(h, Options{Budget: time.Minute})
			if rep.Status != c.want {
				for _, r := range rep.Results {
					t.Logf("%s: %s %s", r.Checker, r.Status, r.Summary)
				}
				t.Fatalf("verdict %s, want %s", rep.Status, c.want)
			}
			me := resultOf(t, rep, "mutual-exclusion")
			got := kinds(me)
			if len(got) != len(c.meKinds) {
				t.Fatalf("mutual-exclusion kinds %v, want %v", got, c.meKinds)
			}
			for i := range got {
				if got[i] != c.meKinds[i] {
					t.Errorf("mutual-exclusion kinds %v, want %v", got, c.meKinds)
				}
			}
			if lin := resultOf(t, rep, "linearizability"); lin.Status != c.want {
				t.Errorf("linearizability %s (%s), want %s", lin.Status, lin.Summary, c.want)
			}
		})
	}
}
