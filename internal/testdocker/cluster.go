package testdocker

import (
	"context"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
)

// OpenTimeout bounds Runtime's call of open.
const OpenTimeout = time.Minute

// StartTimeout bounds Start: a spec without an image makes the runtime
// build the node image, minutes when cold.
const StartTimeout = 20 * time.Minute

// Runtime opens a runtime for a test with open, once Need has passed, and
// closes it when the test ends; it fails the test if open fails. Tests
// pass docker.New, as in
//
//	d := testdocker.Runtime(t, docker.New)
//
// (this package cannot import runtime/docker, whose tests use it).
func Runtime[R runtime.Runtime](tb testing.TB, open func(context.Context, *slog.Logger) (R, error)) R {
	tb.Helper()
	Need(tb)
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	rt, err := open(ctx, nil)
	if err != nil {
		tb.Fatalf("open the runtime: %v", err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// Start starts a cluster on rt as spec says and tears it down when the
// test ends; it fails the test if either fails. A spec without a run id
// gets one from ID, and one without Label gets Label set to its run id.
// Should the start or the teardown fail, or leave anything of the run
// behind, the cleanup then removes what is left (Remove), so that a failed
// test does not leave its containers to the next.
func Start(tb testing.TB, rt runtime.Runtime, spec runtime.Spec) runtime.Cluster {
	tb.Helper()
	if spec.RunID == "" {
		spec.RunID = ID("test")
	}
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	if _, ok := spec.Labels[Label]; !ok {
		spec.Labels[Label] = spec.RunID
	}
	run := runtime.LabelRun + "=" + spec.RunID
	var c runtime.Cluster
	tb.Cleanup(func() {
		if c != nil {
			if err := c.Teardown(context.Background()); err != nil {
				tb.Errorf("teardown cluster %s: %v", spec.RunID, err)
			}
		}
		if cs, ns := Count(tb, run); cs+ns != 0 {
			cs, ns = Remove(tb, run)
			tb.Logf("removed %d containers and %d networks that cluster %s left", cs, ns, spec.RunID)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	var err error
	if c, err = rt.Start(ctx, spec); err != nil {
		tb.Fatalf("start cluster %s: %v", spec.RunID, err)
	}
	return c
}
