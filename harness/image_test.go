package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// fakeImageRuntime is a fake Runtime for the order of Execute's first
// steps: its image takes build to prepare, and it starts no cluster.
type fakeImageRuntime struct {
	build    time.Duration
	imageErr error
	built    time.Time // when NodeImage returned
	started  bool
}

func (f *fakeImageRuntime) NodeImage(ctx context.Context) (string, error) {
	time.Sleep(f.build)
	f.built = time.Now()
	return "fake-image", f.imageErr
}

func (f *fakeImageRuntime) Start(context.Context, runtime.Spec) (runtime.Cluster, error) {
	f.started = true
	return nil, errors.New("the fake runtime starts no cluster")
}

func (*fakeImageRuntime) Reap(context.Context, map[string]string) (runtime.Reaped, error) {
	return runtime.Reaped{}, nil
}

func (*fakeImageRuntime) ReapOrphans(context.Context) (runtime.Reaped, error) {
	return runtime.Reaped{}, nil
}

func (*fakeImageRuntime) Close() error { return nil }

func imageTestConfig(t *testing.T, rt runtime.Runtime) Config {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.Client, cfg.Plan.TimeLimit = "redis", plan.ClientGo, time.Second
	cfg.StoreDir, cfg.Runtime = t.TempDir(), rt
	return cfg
}

// The node image is ready before the run's clock starts: a first run that
// builds it does not count the build in its history, its time to the
// first violation or its duration.
func TestExecuteEnsuresTheImageBeforeTheRunsClockStarts(t *testing.T) {
	rt := &fakeImageRuntime{build: 300 * time.Millisecond}
	var phases []string
	cfg := imageTestConfig(t, rt)
	cfg.Phase = func(p string) { phases = append(phases, p) }
	res, err := Execute(context.Background(), cfg)
	if !errors.Is(err, ErrInfrastructure) || !rt.started {
		t.Fatalf("Execute: %v (cluster started: %v), want the fake's start error", err, rt.started)
	}
	if rt.built.IsZero() || res.Started.Before(rt.built) {
		t.Errorf("the run started at %s, before the image was ready at %s", res.Started.Format(time.StampMicro), rt.built.Format(time.StampMicro))
	}
	if res.Duration >= rt.build {
		t.Errorf("the run took %s, the image's %s included", res.Duration, rt.build)
	}
	if len(phases) == 0 || phases[0] != "image" {
		t.Errorf("phases %v, want image first", phases)
	}
}

// An image that cannot be had fails the run as infrastructure, before a
// run directory or a cluster exists.
func TestExecuteFailsOnTheImageBeforeAnythingStarts(t *testing.T) {
	rt := &fakeImageRuntime{imageErr: errors.New("no mmdebstrap")}
	cfg := imageTestConfig(t, rt)
	_, err := Execute(context.Background(), cfg)
	if !errors.Is(err, ErrInfrastructure) || !errors.Is(err, rt.imageErr) {
		t.Fatalf("Execute: %v, want ErrInfrastructure wrapping the image's error", err)
	}
	if rt.started {
		t.Error("a cluster was started without an image")
	}
	if dirs, _ := filepath.Glob(filepath.Join(cfg.StoreDir, "*", "*", store.HistoryFile)); len(dirs) > 0 {
		t.Errorf("run directories %v were made", dirs)
	}
	if _, err := os.Stat(cfg.StoreDir); err != nil {
		t.Fatal(err)
	}
}
