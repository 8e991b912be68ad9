package testdocker

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// childEnv tells the test binary, run again by TestNeed..., to run
// TestNeedChild for real.
const childEnv = "LOCKSTORM_TESTDOCKER_CHILD"

// nowhere is an engine address where no engine answers.
const nowhere = "unix:///nonexistent/lockstorm-testdocker.sock"

// TestNeedChild calls Need in two subtests, as two Docker tests of one
// package would, when the parent test runs it; it does nothing otherwise.
func TestNeedChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestNeed... in a child process")
	}
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			Need(t)
			t.Log("Need returned")
		})
	}
	t.Logf("connects: %d", engine.connects)
}

// child runs TestNeedChild in a new test process with the engine at
// nowhere, and CIEnv set to ci unless it is empty.
func child(t *testing.T, short bool, ci string) (string, error) {
	t.Helper()
	args := []string{"-test.run=^TestNeedChild$", "-test.v", "-test.count=1"}
	if short {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, CIEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1", "DOCKER_HOST="+nowhere)
	if ci != "" {
		cmd.Env = append(cmd.Env, CIEnv+"="+ci)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestNeedSkipsInShortModeWithoutConnecting(t *testing.T) {
	out, err := child(t, true, "true")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if n := strings.Count(out, "--- SKIP: TestNeedChild/"); n != 2 || !strings.Contains(out, "skipped with -short") {
		t.Errorf("want both subtests skipped for -short, even with %s set:\n%s", CIEnv, out)
	}
	if !strings.Contains(out, "connects: 0") {
		t.Errorf("Need connected to the engine in -short mode:\n%s", out)
	}
}

func TestNeedSkipsWithoutAnEngineOutsideCI(t *testing.T) {
	out, err := child(t, false, "")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if n := strings.Count(out, "--- SKIP: TestNeedChild/"); n != 2 || strings.Contains(out, "Need returned") {
		t.Errorf("want both subtests skipped without an engine:\n%s", out)
	}
	if !strings.Contains(out, "no Docker: ") || !strings.Contains(out, nowhere) {
		t.Errorf("the skip does not give the reason and the engine's address:\n%s", out)
	}
	if !strings.Contains(out, "connects: 1") {
		t.Errorf("want one connection attempt for the whole process:\n%s", out)
	}
}

func TestNeedFailsWithoutAnEngineInCI(t *testing.T) {
	out, err := child(t, false, "true")
	if err == nil {
		t.Fatalf("the child passed with %s set and no engine:\n%s", CIEnv, out)
	}
	if n := strings.Count(out, "--- FAIL: TestNeedChild/"); n != 2 || strings.Contains(out, "Need returned") {
		t.Errorf("want both subtests failed without an engine in CI:\n%s", out)
	}
	if !regexp.MustCompile(`CI must have Docker \(CI is set\): ping the engine at \S*nonexistent`).MatchString(out) {
		t.Errorf("the failure does not say why:\n%s", out)
	}
}

func TestIDsAreFreshAndCarryTheirPrefix(t *testing.T) {
	a, b := ID("run"), ID("run")
	re := regexp.MustCompile(`^run-[0-9a-f]{8}$`)
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("ID(run) gave %q and %q", a, b)
	}
}
