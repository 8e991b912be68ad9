package docker

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/fakeengine"
	"github.com/lockstorm/lockstorm/runtime"
)

// These tests talk to fake engines (internal/fakeengine), never to the
// real one: a real engine that stops answering stays stuck until it is
// restarted.

func TestNewGivesUpOnAFakeEngineThatNeverAnswers(t *testing.T) {
	e, err := fakeengine.Silent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Setenv("DOCKER_HOST", e.Host())
	t.Setenv(EngineTimeoutEnv, "300ms")
	start := time.Now()
	_, err = New(context.Background(), nil)
	took := time.Since(start)
	if !errors.Is(err, runtime.ErrEngineStuck) {
		t.Fatalf("New = %v, want ErrEngineStuck", err)
	}
	if errors.Is(err, runtime.ErrNoDocker) {
		t.Errorf("New = %v: a stuck engine is not a missing one", err)
	}
	if !strings.Contains(err.Error(), "/_ping") || !strings.Contains(err.Error(), "300ms") {
		t.Errorf("New = %v, want the call and the wait named", err)
	}
	if took > 5*time.Second {
		t.Errorf("New took %s with a 300ms deadline", took)
	}
}

func TestASlowFakeEngineWithinTheDeadlineIsNotStuck(t *testing.T) {
	e, err := fakeengine.Slow(t.TempDir(), func(method, path string) fakeengine.Answer {
		if strings.HasSuffix(path, "/networks") {
			return fakeengine.Answer{Delay: 400 * time.Millisecond, Body: "[]"}
		}
		return fakeengine.Answer{Delay: 200 * time.Millisecond}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Setenv("DOCKER_HOST", e.Host())
	t.Setenv(EngineTimeoutEnv, "2s")
	trace := t.TempDir() + "/trace"
	t.Setenv(EngineTraceEnv, trace)
	d, err := New(context.Background(), nil)
	if err != nil {
		t.Fatalf("New on an engine that answers in 200ms: %v", err)
	}
	defer d.Close()
	if _, err := usedPrefixes(context.Background(), d.cli); err != nil {
		t.Fatalf("a list answered in 400ms with a 2s deadline: %v", err)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[1] == "GET_/networks" && f[3] == "200" {
			ms, _ := strconv.Atoi(f[2])
			listed = ms >= 350 && ms < 2000
		}
	}
	if !listed {
		t.Errorf("the trace does not time the network list at about 400ms:\n%s", b)
	}
}

func TestAFakeEngineThatStopsAnsweringFailsEveryLaterCallAtOnce(t *testing.T) {
	e, err := fakeengine.Slow(t.TempDir(), func(method, path string) fakeengine.Answer {
		if strings.HasSuffix(path, "/networks/create") {
			return fakeengine.Answer{Delay: -1} // the deadlock of moby/moby#42545
		}
		return fakeengine.Answer{Body: "[]"}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Setenv("DOCKER_HOST", e.Host())
	t.Setenv(EngineTimeoutEnv, "500ms")
	d, err := New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := &dockerCluster{cli: d.cli, eng: d.eng, runID: "r1", log: orDiscard(nil)}
	_, err = c.createNetwork(context.Background(), map[string]string{runtime.LabelRun: "r1"})
	first, ok := runtime.EngineStuck(err)
	if !ok || first.Call != "POST /networks/create" || first.Waited != 500*time.Millisecond {
		t.Fatalf("createNetwork = %v, want an EngineError for POST /networks/create after 500ms", err)
	}
	start := time.Now()
	_, err = d.Reap(context.Background(), nil)
	if time.Since(start) > 200*time.Millisecond {
		t.Errorf("a call after the engine stopped answering took %s, want at once", time.Since(start))
	}
	later, ok := runtime.EngineStuck(err)
	if !ok || later.Call != "POST /networks/create" {
		t.Fatalf("Reap after a stuck call = %v, want it to name the first stuck call", err)
	}
	if !strings.Contains(err.Error(), "GET /containers/json not sent") {
		t.Errorf("Reap = %v, want the call that was not sent named", err)
	}
}

func TestEngineTimeoutSetting(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		bad  bool
	}{
		{"", DefaultEngineTimeout, false},
		{"90s", 90 * time.Second, false},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"2h", 0, true},
		{"soon", 0, true},
	} {
		t.Setenv(EngineTimeoutEnv, tc.env)
		got, err := EngineTimeout()
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("%s=%q: EngineTimeout() = %s, %v", EngineTimeoutEnv, tc.env, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), EngineTimeoutEnv) {
			t.Errorf("error %v does not name the variable", err)
		}
	}
}
