package cli

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
)

func TestRunJudgeUnknownCheckerExit3NamingTheFlagAndTheValidNames(t *testing.T) {
	code, _, errOut := lockstorm(t, "run", "--target", "inmemory", "--judge", "fencing,fencin", "--store", t.TempDir(), "--quiet")
	if code != exitUsage || !strings.Contains(errOut, `--judge "fencin" is not a checker`) ||
		!strings.Contains(errOut, "valid: mutual-exclusion, linearizability, fencing, liveness") {
		t.Fatalf("exit %d, want 3 naming --judge and the valid checkers: %s", code, errOut)
	}
}

// The in-memory target gives no fencing tokens, so it cannot make a run
// valid by fencing; a run judged by liveness alone shows that the exit
// code follows the judge, and the judge is kept and reproduced.
func TestRunJudgedByLivenessExitsByLivenessAndKeepsTheJudge(t *testing.T) {
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "3", "--time-limit", "2s", "--store", st, "--seed", "5", "--judge", " liveness ")
	if code != 0 {
		t.Fatalf("exit %d, want 0: liveness held although mutual exclusion broke\n%s\n%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "VALID by liveness: ") || !strings.Contains(out, "Over all checkers the run is INVALID") {
		t.Errorf("verdict line does not say valid by liveness and invalid over all:\n%s", out)
	}
	dirs, _ := filepath.Glob(filepath.Join(st, "inmemory-mutex-none", "2*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	res, err := store.ReadRunResult(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Plan.Judge, []string{"liveness"}) || res.AllCheckers != "invalid" || !strings.Contains(res.Command, " --judge liveness ") {
		t.Errorf("results.json: judge %v, all_checkers %q, command %q", res.Plan.Judge, res.AllCheckers, res.Command)
	}
}

func TestRunConsoleSaysWhenEachFaultStruckUnlessQuiet(t *testing.T) {
	args := []string{"run", "--target", "inmemory", "--nemesis", "client-pause", "--time-limit", "2s", "--nemesis-interval", "500ms", "--seed", "3"}
	_, _, errOut := lockstorm(t, append(args, "--store", t.TempDir())...)
	if !strings.Contains(errOut, `msg="fault struck" at=`) || !strings.Contains(errOut, "nemesis=client-pause struck=\"client p") || !strings.Contains(errOut, `msg="fault healed"`) {
		t.Errorf("console does not say when the client-pause struck and healed:\n%s", errOut)
	}
	_, _, errOut = lockstorm(t, append(args, "--store", t.TempDir(), "--quiet")...)
	if strings.Contains(errOut, "fault struck") {
		t.Errorf("--quiet console names faults:\n%s", errOut)
	}
}
