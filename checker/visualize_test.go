package checker

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestVisualizeDrawsTheFailingWindowWithFaults(t *testing.T) {
	var ops []history.Op
	// A long valid prefix, so the failing window must be found.
	tm := 0.0
	for i := 0; i < 200; i++ {
		p := i % 3
		ops = append(ops, inv(tm, p, acq, "k"), ok(tm+1, p, acq, "k"), inv(tm+2, p, rel, "k"), ok(tm+3, p, rel, "k"))
		tm += 4
	}
	ops = append(ops,
		nem(tm, "start-partition", value(`{"nodes":["n1"]}`)),
		inv(tm+1, 7, acq, "k"), ok(tm+2, 7, acq, "k"),
		inv(tm+3, 8, acq, "k"), info(tm+4, 8, acq, "k"),
		inv(tm+5, 9, acq, "k"), ok(tm+6, 9, acq, "k"),
		nem(tm+7, "stop-partition"))
	h := hist(t, ops...)
	var buf bytes.Buffer
	if err := Visualize(h, &buf, VisualizeOptions{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{"p7 acquire → ok", "p9 acquire → ok", "partition", "p8 acquire → unknown", "held by p7"} {
		if !strings.Contains(html, want) {
			t.Errorf("visualization lacks %q", want)
		}
	}
	if strings.Count(html, "acquire → ok") > 10 {
		t.Errorf("visualization drew the whole valid prefix (%d acquires)", strings.Count(html, "acquire → ok"))
	}
}

func TestVisualizeIsBoundedOnValidHistories(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := simulate(r, simConfig{slots: 5, opsPerSlot: 400, tokens: true})
	var buf bytes.Buffer
	if err := Visualize(h, &buf, VisualizeOptions{MaxOps: 100}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "→ ok"); n == 0 || n > 100 {
		t.Errorf("drew %d operations, want 1..100", n)
	}
}

func TestVisualizeWithoutLockOps(t *testing.T) {
	h := hist(t, nem(0, "start-kill"))
	if err := Visualize(h, &bytes.Buffer{}, VisualizeOptions{}); !errors.Is(err, ErrNoLockOps) {
		t.Errorf("err = %v, want ErrNoLockOps", err)
	}
}
