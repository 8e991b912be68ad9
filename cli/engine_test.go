package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/fakeengine"
	"github.com/lockstorm/lockstorm/store"
)

// These tests point the real binary at a fake engine that accepts
// connections and never answers (internal/fakeengine), with the default
// engine deadline: the way Debian's Docker 20.10 behaves once its network
// code has deadlocked (moby/moby#42545). They never touch the real engine.

// silentEngine starts a fake engine that never answers and returns the
// binary's environment pointing at it.
func silentEngine(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("waits out the engine deadline (60s); skipped with -short")
	}
	e, err := fakeengine.Silent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, "LOCKSTORM_ENGINE_TIMEOUT=") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_HOST="+e.Host())
}

// runSilent runs the binary with args against env, at most limit, and
// returns its exit code, output and time.
func runSilent(t *testing.T, env []string, limit time.Duration, args ...string) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = env
	start := time.Now()
	timer := time.AfterFunc(limit+30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("lockstorm %s: %v", strings.Join(args, " "), err)
	}
	if took > limit {
		t.Errorf("lockstorm %s took %s on an engine that never answers, want at most %s", strings.Join(args, " "), took.Round(time.Second), limit)
	}
	return cmd.ProcessState.ExitCode(), string(out), took
}

func TestRunOnAFakeEngineThatNeverAnswersExits4NamingTheCall(t *testing.T) {
	t.Parallel()
	env := silentEngine(t)
	code, out, took := runSilent(t, env, 120*time.Second,
		"run", "--target", "redis", "--time-limit", "10s", "--store", t.TempDir())
	if code != exitInfra {
		t.Errorf("exit %d, want %d\n%s", code, exitInfra, out)
	}
	for _, want := range []string{"/_ping", "within 1m0s", "restart the container engine", "lockstorm clean"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("exit %d after %s", code, took.Round(time.Second))
}

func TestSmokeCampaignOnAFakeEngineThatNeverAnswersSaysSoAndExits4(t *testing.T) {
	t.Parallel()
	env := silentEngine(t)
	st := t.TempDir()
	code, out, took := runSilent(t, env, 240*time.Second, "campaign", "--smoke", "--store", st, "--quiet")
	if code != exitInfra {
		t.Errorf("exit %d, want %d\n%s", code, exitInfra, out)
	}
	for _, bad := range []string{"did not reproduce", "runs found one", "FAIL"} {
		if strings.Contains(out, bad) {
			t.Errorf("a cell that never ran is reported as %q:\n%s", bad, out)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(st, store.CampaignsDir, "*", store.ResultsFile))
	if len(dirs) != 1 {
		t.Fatalf("want one campaign results.json, found %v\n%s", dirs, out)
	}
	b, err := os.ReadFile(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	var res store.CampaignResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Interrupted, "container engine stopped answering") || res.ExitCode != exitInfra {
		t.Errorf("results.json: interrupted %q, exit code %d", res.Interrupted, res.ExitCode)
	}
	for _, c := range res.Cells {
		if c.NotRun == "" || c.Met || strings.Contains(c.Outcome, "found one") {
			t.Errorf("cell %s: not_run %q, met %v, outcome %q; want it not run", c.Name, c.NotRun, c.Met, c.Outcome)
		}
	}
	page, err := os.ReadFile(filepath.Join(filepath.Dir(dirs[0]), store.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Interrupted", "container engine stopped answering", "Not run"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("campaign page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "none of") {
		t.Errorf("campaign page reports a cell that never ran as not reproduced")
	}
	t.Logf("exit %d after %s", code, took.Round(time.Second))
}
