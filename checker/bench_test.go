package checker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker/internal/synthetic"
	"github.com/lockstorm/lockstorm/history"
)

// Benchmarks of the checkers on synthetic single-key histories. Run them
// with: go test ./checker -run x -bench . -benchmem
// Peak memory of the 1M-record case: build the test binary with -c and run
// it under /usr/bin/time -v with -test.bench 'Check/blocking-1M'.

var (
	genMu    sync.Mutex
	genCache = map[string]history.History{}
)

// generated memoizes synthetic histories across benchmarks of one run.
func generated(name string, cfg synthetic.Config) history.History {
	genMu.Lock()
	defer genMu.Unlock()
	if h, ok := genCache[name]; ok {
		return h
	}
	h := synthetic.Generate(cfg)
	genCache[name] = h
	return h
}

func shapeConfig(shape string, records int) synthetic.Config {
	cfg := synthetic.Config{Records: records, Seed: 1, Tokens: true, Writes: true, FaultEvery: time.Second}
	switch shape {
	case "blocking":
		cfg.Shape, cfg.Timeouts, cfg.Crashes, cfg.Lease = synthetic.Blocking, 0.01, 0.002, 50*time.Millisecond
	case "trylock":
		cfg.Shape, cfg.Crashes = synthetic.TryLock, 0.002
	}
	return cfg
}

func BenchmarkCheck(b *testing.B) {
	for _, shape := range []string{"blocking", "trylock"} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			name := fmt.Sprintf("%s-%s", shape, size(n))
			b.Run(name, func(b *testing.B) {
				h := generated(name, shapeConfig(shape, n))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rep := Check(h, Options{})
					if rep.Status != Valid {
						b.Fatalf("status %s: %v", rep.Status, rep.Results)
					}
					if i == 0 {
						for _, r := range rep.Results {
							b.ReportMetric(float64(r.Millis), r.Checker+"-ms")
						}
					}
				}
			})
		}
	}
}

// BenchmarkOneOverlap20k measures how fast Check reports a single overlap
// in a 20k-record history.
func BenchmarkOneOverlap20k(b *testing.B) {
	cfg := shapeConfig("blocking", 20_000)
	cfg.Overlaps = 1
	h := generated("overlap-20k", cfg)
	b.Run("mutual-exclusion", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if r := MutualExclusion(h); r.Status != Invalid {
				b.Fatalf("status %s", r.Status)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if r := Check(h, Options{}); r.Status != Invalid {
				b.Fatalf("status %s", r.Status)
			}
		}
	})
}

// BenchmarkBroken1M measures Check on a service with no mutual exclusion
// at all, where no cut exists: every piece is too large to search whole.
func BenchmarkBroken1M(b *testing.B) {
	h := generated("broken-1M", synthetic.Config{Records: 1_000_000, Seed: 1, Tokens: true, Broken: true})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep := Check(h, Options{})
		if rep.Status != Invalid {
			b.Fatalf("status %s", rep.Status)
		}
		if i == 0 {
			for _, r := range rep.Results {
				b.ReportMetric(float64(r.Millis), r.Checker+"-ms")
			}
		}
	}
}

func size(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
