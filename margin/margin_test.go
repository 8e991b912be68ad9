package margin

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const k = 3

// fake is an oracle whose lock breaks by the value: in no run below
// some, in some (1 of k) runs from some to all, in every run from all.
type fake struct {
	some, all time.Duration
	calls     []time.Duration
}

func (f *fake) oracle(_ context.Context, v time.Duration) (int, int, error) {
	f.calls = append(f.calls, v)
	switch {
	case v >= f.all:
		return k, k, nil
	case v >= f.some:
		return 1, k, nil
	}
	return 0, k, nil
}

var stallRange = Config{From: 200 * time.Millisecond, To: 3 * time.Second}

func TestSearchFindsASharpEdge(t *testing.T) {
	f := &fake{some: 1200 * time.Millisecond, all: 1200 * time.Millisecond}
	res, err := Search(context.Background(), f.oracle, stallRange)
	if err != nil || res.Err(stallRange) != nil || res.Outcome != Found {
		t.Fatalf("%v %+v", err, res)
	}
	prec := (stallRange.To - stallRange.From) / 32
	if h := *res.Holds; h >= 1200*time.Millisecond || h < 1200*time.Millisecond-prec {
		t.Errorf("holds %s, want just below 1.2s", h)
	}
	if b := *res.Breaks; b < 1200*time.Millisecond || b > 1200*time.Millisecond+prec {
		t.Errorf("breaks %s, want just above 1.2s", b)
	}
	// Every value tried is a step, once, in the order tried.
	if len(res.Steps) != len(f.calls) {
		t.Fatalf("%d steps for %d calls", len(res.Steps), len(f.calls))
	}
	seen := map[time.Duration]bool{}
	for i, st := range res.Steps {
		if st.Value != f.calls[i] || seen[st.Value] || st.Runs != k {
			t.Fatalf("step %d: %+v", i, st)
		}
		seen[st.Value] = true
	}
	if res.Steps[0].Value != stallRange.From || res.Steps[1].Value != stallRange.To {
		t.Errorf("first steps %+v, want FROM then TO", res.Steps[:2])
	}
}

// Between the largest value that held and the smallest that broke every
// run lies a region where some runs broke: both ends are found.
func TestSearchFindsBothEndsOfAFlakyRegion(t *testing.T) {
	f := &fake{some: time.Second, all: 1500 * time.Millisecond}
	res, err := Search(context.Background(), f.oracle, Config{From: 0, To: 4 * time.Second, Precision: 10 * time.Millisecond})
	if err != nil || res.Outcome != Found {
		t.Fatalf("%v %+v", err, res)
	}
	if h := *res.Holds; h >= time.Second || h < 990*time.Millisecond {
		t.Errorf("holds %s, want just below 1s", h)
	}
	if b := *res.Breaks; b < 1500*time.Millisecond || b > 1510*time.Millisecond {
		t.Errorf("breaks %s, want just above 1.5s", b)
	}
	// The steps in the region give its rate.
	flaky := 0
	for _, st := range res.Steps {
		if st.Value >= time.Second && st.Value < 1500*time.Millisecond {
			flaky++
			if st.Rate() != 1.0/k {
				t.Errorf("step %+v: rate %g", st, st.Rate())
			}
		}
	}
	if flaky == 0 {
		t.Error("no step in the flaky region")
	}
}

func TestSearchSaysWhenTheRangeHasNoBoundary(t *testing.T) {
	cases := []struct {
		name        string
		f           fake
		outcome     string
		steps       int
		holds, brk  *time.Duration
		errContains string
	}{
		{"held everywhere", fake{some: time.Hour, all: time.Hour}, AboveRange, 2, ptr(3 * time.Second), nil, "held in every run at 3s"},
		{"broke everywhere", fake{some: 0, all: 0}, BelowRange, 1, nil, ptr(200 * time.Millisecond), "broke in every run at 200ms"},
		{"some broke at FROM", fake{some: 0, all: 2 * time.Second}, NoHold, 0, nil, nil, "no value in the range held"},
		{"some held at TO", fake{some: time.Second, all: time.Hour}, NoBreak, 0, nil, nil, "no value broke every run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			res, err := Search(context.Background(), f.oracle, stallRange)
			if err != nil {
				t.Fatal(err)
			}
			e := res.Err(stallRange)
			if res.Outcome != c.outcome || !errors.Is(e, ErrNoBoundary) || !strings.Contains(e.Error(), c.errContains) {
				t.Fatalf("outcome %s, err %v", res.Outcome, e)
			}
			if c.steps > 0 && len(res.Steps) != c.steps {
				t.Errorf("%d steps, want %d", len(res.Steps), c.steps)
			}
			if c.holds != nil && (res.Holds == nil || *res.Holds != *c.holds) || c.brk != nil && (res.Breaks == nil || *res.Breaks != *c.brk) {
				t.Errorf("holds %v breaks %v", res.Holds, res.Breaks)
			}
			switch c.outcome {
			case NoHold:
				if res.Holds != nil || res.Breaks == nil || *res.Breaks < 2*time.Second {
					t.Errorf("holds %v breaks %v", res.Holds, res.Breaks)
				}
			case NoBreak:
				if res.Breaks != nil || res.Holds == nil || *res.Holds >= time.Second {
					t.Errorf("holds %v breaks %v", res.Holds, res.Breaks)
				}
			}
		})
	}
}

func TestSearchIsDeterministic(t *testing.T) {
	run := func() Result {
		f := &fake{some: 700 * time.Millisecond, all: 2100 * time.Millisecond}
		res, err := Search(context.Background(), f.oracle, stallRange)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Fatal("two searches with the same oracle differ")
	}
}

func TestSearchStops(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	oracle := func(_ context.Context, v time.Duration) (int, int, error) {
		if n++; n == 3 {
			return 0, 0, boom
		}
		return (&fake{some: time.Second, all: time.Second}).oracle(context.Background(), v)
	}
	res, err := Search(context.Background(), oracle, stallRange)
	if !errors.Is(err, boom) || len(res.Steps) != 2 {
		t.Fatalf("got %v, %d steps", err, len(res.Steps))
	}
	f := &fake{some: time.Second, all: time.Second}
	cfg := stallRange
	cfg.MaxSteps = 4
	if _, err := Search(context.Background(), f.oracle, cfg); !errors.Is(err, ErrTooManySteps) {
		t.Fatalf("got %v", err)
	}
	liar := func(context.Context, time.Duration) (int, int, error) { return 4, 3, nil }
	if _, err := Search(context.Background(), liar, stallRange); err == nil {
		t.Fatal("an oracle with more violations than runs was believed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Search(ctx, f.oracle, stallRange); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if _, err := Search(context.Background(), f.oracle, Config{From: time.Second, To: time.Second}); err == nil {
		t.Fatal("an empty range was searched")
	}
}

func TestParseVary(t *testing.T) {
	v, err := ParseVary("client-pause.stall=200ms..3s")
	if err != nil || v != (Vary{Option: "client-pause.stall", From: 200 * time.Millisecond, To: 3 * time.Second}) {
		t.Fatalf("got %+v, %v", v, err)
	}
	for in, want := range map[string]string{
		"client-pause.stall":         "want OPTION=FROM..TO",
		"=1s..2s":                    "want OPTION=FROM..TO",
		"client-pause.stall=1s":      "want a range FROM..TO",
		"client-pause.stall=x..2s":   `FROM "x" is not a duration`,
		"client-pause.stall=1s..two": `TO "two" is not a duration`,
		"client-pause.stall=-1s..2s": "FROM -1s is negative",
		"client-pause.stall=2s..1s":  "TO 1s must be above FROM 2s",
		"client-pause.stall=1s..1s":  "TO 1s must be above FROM 1s",
	} {
		_, err := ParseVary(in)
		if err == nil || !strings.HasPrefix(err.Error(), "--vary ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}
