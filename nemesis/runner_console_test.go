package nemesis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/plan"
)

// fakeNemesis strikes a node it names in its details, or fails to.
type fakeNemesis struct{ fail bool }

func (fakeNemesis) Describe() Descriptor { return Descriptor{Name: "fake"} }
func (fakeNemesis) Plan(*rand.Rand, schedule.PlanParams) (plan.Event, error) {
	return plan.Event{}, nil
}
func (f fakeNemesis) Inject(context.Context, *Env, plan.Event) (any, error) {
	if f.fail {
		return nil, errors.New("no such node")
	}
	return map[string]any{"nodes": []string{"n2"}}, nil
}
func (fakeNemesis) Heal(context.Context, *Env, plan.Event) (any, error) { return nil, nil }
func (fakeNemesis) Teardown(context.Context, *Env) error                { return nil }

// runFake applies one fake event 20 ms into the run and returns what the
// run's console (an info-level logger) printed.
func runFake(t *testing.T, n fakeNemesis) string {
	t.Helper()
	var console, hist bytes.Buffer
	begin := time.Now()
	env := &Env{Plan: &plan.Plan{}, Log: slog.New(slog.NewTextHandler(&console, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	r := &Runner{Env: env, Recorder: history.NewRecorder(&hist, begin), Nemeses: []Nemesis{n},
		Schedule: plan.Schedule{Events: []plan.Event{{Nemesis: "fake", Mode: "holder", Targets: []string{"n1", "n2"},
			Start: 20 * time.Millisecond, Duration: 10 * time.Millisecond}}}}
	_ = r.Run(context.Background(), begin)
	return console.String()
}

func TestRunnerTellsTheConsoleWhenAFaultStruckAndHealed(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(runFake(t, fakeNemesis{})), "\n")
	if len(lines) != 2 {
		t.Fatalf("console lines %q, want one as the fault struck and one as it healed", lines)
	}
	for i, want := range []string{`msg="fault struck"`, `msg="fault healed"`} {
		l := lines[i]
		if !strings.Contains(l, want) || !strings.Contains(l, "nemesis=fake mode=holder") || !strings.Contains(l, " at=") {
			t.Errorf("line %d %q lacks %s, the nemesis, its mode or the time", i, l, want)
		}
	}
	for _, l := range lines {
		if !strings.Contains(l, `struck="nodes n2"`) {
			t.Errorf("line %q does not say the fault struck n2", l)
		}
	}
	at := strings.Fields(lines[0][strings.Index(lines[0], " at=")+4:])[0]
	if d, err := time.ParseDuration(at); err != nil || d < 20*time.Millisecond || d > 2*time.Second || d != d.Round(time.Millisecond) {
		t.Errorf("start at %q, want the run's clock, after the event's 20ms offset, rounded to ms", at)
	}
}

func TestRunnerTellsTheConsoleWhenAFaultDidNotStrike(t *testing.T) {
	out := runFake(t, fakeNemesis{fail: true})
	if !strings.Contains(out, `msg="fault did not strike"`) || !strings.Contains(out, `err="no such node"`) || strings.Contains(out, "healed") {
		t.Errorf("console %q", out)
	}
}
