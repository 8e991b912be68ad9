package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/store"
)

// runClient runs `lockstorm run --target redis --client fixture` for a few
// seconds and returns the exit code, the output and the run's result.
func runClient(t *testing.T, fixture string) (int, string, store.RunResult) {
	t.Helper()
	testdocker.Need(t)
	st := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "run", "--target", "redis", "--client", filepath.Join("testdata", "clients", fixture),
		"--time-limit", "8s", "--store", st, "--quiet")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: the run hung: %s", fixture, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	res, rerr := store.ReadRunResult(filepath.Join(st, "latest"))
	if rerr != nil {
		t.Fatalf("%s: no results: %v\n%s", fixture, rerr, out)
	}
	if _, err := os.Stat(filepath.Join(st, "latest", store.HistoryFile)); err != nil {
		t.Errorf("%s: the history was not kept: %v", fixture, err)
	}
	return code, string(out), res
}

// A protocol client that answers ok to every acquire is a lock that lets
// everyone in: the run is invalid, with overlaps the service "granted".
func TestDockerClientThatGrantsEverythingIsInvalid(t *testing.T) {
	code, out, res := runClient(t, "ok_to_everything.py")
	if code != exitInvalid || res.Status != "invalid" || !strings.Contains(res.Summary, "while process") {
		t.Fatalf("exit %d, status %s: %s\n%s", code, res.Status, res.Summary, out)
	}
}

// A client that crashes at start, one that never answers, and one that
// prints garbage each end the run at once with exit 4 and an error that
// names the client and says what it did, the history kept.
func TestDockerBrokenClientsAreInfrastructureFailures(t *testing.T) {
	cases := map[string][]string{
		"crash_at_start.py": {"crash_at_start.py (process", "init: client output ended", "No module named 'mylock'"},
		"hang.py":           {"hang.py (process", "init: no reply within 30s"},
		"garbage.py":        {"garbage.py (process", `printed a line that is not a reply: "acquired lock-0 :)"`},
	}
	for fixture, want := range cases {
		t.Run(fixture, func(t *testing.T) {
			begin := time.Now()
			code, out, res := runClient(t, fixture)
			if code != exitInfra {
				t.Fatalf("exit %d, want 4\n%s", code, out)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("the output does not say %q:\n%s", w, out)
				}
			}
			if res.Status != "unknown" || res.Error == "" {
				t.Errorf("results: status %s, error %q; want unknown with the error", res.Status, res.Error)
			}
			if took := time.Since(begin); took > 60*time.Second {
				t.Errorf("the run took %s to give up on a broken client", took)
			}
		})
	}
}
