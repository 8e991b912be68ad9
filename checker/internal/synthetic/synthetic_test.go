package synthetic

import (
	"bytes"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// The generated histories must pass the history format's own validator.
func TestGeneratedHistoriesKeepTheFormat(t *testing.T) {
	for _, cfg := range []Config{
		{Records: 5000, Shape: Blocking, Tokens: true, Writes: true, Timeouts: 0.1, Crashes: 0.05, FaultEvery: 1e8},
		{Records: 5000, Shape: TryLock, TTL: 5e6, Overlaps: 3},
	} {
		h := Generate(cfg)
		if len(h) < cfg.Records {
			t.Errorf("%d records, want at least %d", len(h), cfg.Records)
		}
		v := history.NewValidator("synthetic")
		for _, o := range h {
			if err := v.Check(o); err != nil {
				t.Fatalf("%v: %v", o, err)
			}
		}
		var buf bytes.Buffer
		for _, o := range h[:10] {
			buf.WriteString(o.String() + "\n")
		}
		t.Logf("start of history:\n%s", buf.String())
	}
}
