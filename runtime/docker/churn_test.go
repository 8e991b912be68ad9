package docker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/fakeengine"
)

// TestRemovalsTakeTurnsAcrossProcessesOnAFakeEngine has two "processes"
// (two Runtimes, each with its own open of the host-wide lock) tear down
// three containers each on a fake engine that counts the removals in
// flight: never more than one at a time.
func TestRemovalsTakeTurnsAcrossProcessesOnAFakeEngine(t *testing.T) {
	var inFlight, most, removed atomic.Int32
	list := func(prefix string) string {
		var items []string
		for i := range 3 {
			items = append(items, fmt.Sprintf(`{"Id":"%s%063d","Names":["/%s%d"]}`, prefix, i, prefix, i))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	e, err := fakeengine.Slow(t.TempDir(), func(method, path string) fakeengine.Answer {
		switch {
		case method == http.MethodGet && strings.HasSuffix(path, "/containers/json"):
			return fakeengine.Answer{Body: list("a")}
		case method == http.MethodGet && strings.HasSuffix(path, "/networks"):
			return fakeengine.Answer{Body: "[]"}
		case method == http.MethodDelete && strings.Contains(path, "/containers/"):
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			inFlight.Add(-1)
			removed.Add(1)
			return fakeengine.Answer{Status: http.StatusNoContent, Body: " "}
		}
		return fakeengine.Answer{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Setenv("DOCKER_HOST", e.Host())
	lockDir := t.TempDir()
	var wg sync.WaitGroup
	for range 2 {
		d, err := New(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.churn.path = lockDir + "/engine.lock" // the same engine, as two processes see it
		wg.Go(func() {
			if _, err := d.Reap(context.Background(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if removed.Load() != 6 {
		t.Fatalf("%d removals, want 6", removed.Load())
	}
	if most.Load() != 1 {
		t.Errorf("up to %d removals were in flight at once, want 1", most.Load())
	}
}
