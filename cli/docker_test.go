package cli

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/keepfailed"
	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// These tests run the real binary against real containers, and send it real
// signals.

// binary builds lockstorm once for the package's tests.
func binary(t *testing.T) string {
	t.Helper()
	return testdocker.Lockstorm(t)
}

// leftovers counts containers and networks carrying a lockstorm run label
// whose owner (LabelOwner, docker.OwnerLabel) is the process pid.
func leftovers(t *testing.T, pid int) (int, int) {
	t.Helper()
	return testdocker.CountWhere(t, runtime.LabelRun, func(labels map[string]string) bool {
		return strings.Contains(labels[runtime.LabelOwner]+",", ",pid="+itoa(pid)+",")
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// startRun starts `lockstorm run` and returns once the workload phase has
// begun, with the process and the run's store.
func startRun(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	st := t.TempDir()
	cmd := exec.Command(binary(t), append([]string{"run", "--store", st}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "phase=workload") {
				once.Do(func() { close(started) })
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the run never reached its workload")
	}
	time.Sleep(2 * time.Second) // well inside the workload
	return cmd, st
}

func TestDockerRedisRunIsValidAndLeavesNothing(t *testing.T) {
	testdocker.Need(t)
	st := t.TempDir()
	cmd := exec.Command(binary(t), "run", "--target", "redis", "--time-limit", "10s", "--store", st, "--quiet")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis run: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "VALID") {
		t.Errorf("verdict:\n%s", out)
	}
	if c, n := leftovers(t, cmd.Process.Pid); c+n != 0 {
		t.Errorf("%d containers and %d networks left behind", c, n)
	}
}

func TestDockerSIGINTMidRunLeavesNothing(t *testing.T) {
	testdocker.Need(t)
	cmd, st := startRun(t, "--target", "redis", "--time-limit", "60s")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != exitUnknown && code != exitValid && code != exitInvalid {
		t.Errorf("interrupted run exited %d (%v); want a verdict code", code, err)
	}
	if c, n := leftovers(t, cmd.Process.Pid); c+n != 0 {
		t.Errorf("%d containers and %d networks left behind after SIGINT", c, n)
	}
	res, rerr := store.ReadRunResult(filepath.Join(st, "latest"))
	if rerr != nil || res.Ops == 0 {
		t.Errorf("the interrupted run kept no judged history: %+v %v", res, rerr)
	}
}

func TestDockerSIGKILLThenCleanLeavesNothingAndHistoryChecks(t *testing.T) {
	testdocker.Need(t)
	cmd, st := startRun(t, "--target", "redis", "--time-limit", "60s")
	pid := cmd.Process.Pid
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if c, _ := leftovers(t, pid); c == 0 {
		t.Fatal("SIGKILL left nothing to clean: the test did not catch the run mid-way")
	}
	out, err := exec.Command(binary(t), "clean").CombinedOutput()
	if err != nil {
		t.Fatalf("clean: %v\n%s", err, out)
	}
	if c, n := leftovers(t, pid); c+n != 0 {
		t.Errorf("clean left %d containers and %d networks of the killed run", c, n)
	}
	// The killed run's history was flushed as it went: check judges it.
	runs, err := filepath.Glob(filepath.Join(st, "redis-mutex-none", "*"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("run directories: %v %v", runs, err)
	}
	chk := exec.Command(binary(t), "check", runs[0])
	out, _ = chk.CombinedOutput()
	if code := chk.ProcessState.ExitCode(); code != exitValid && code != exitUnknown {
		t.Errorf("check of the killed run exited %d, want 0 or 2:\n%s", code, out)
	}
	if !strings.Contains(string(out), "UNKNOWN") && !strings.Contains(string(out), "VALID") {
		t.Errorf("check output:\n%s", out)
	}
}

// runJudged runs lockstorm to completion and returns its exit code and the
// run's results.
func runJudged(t *testing.T, args ...string) (int, store.RunResult) {
	t.Helper()
	st := t.TempDir()
	keepfailed.OnFailure(t, st)
	cmd := exec.Command(binary(t), append([]string{"run", "--store", st, "--quiet"}, args...)...)
	out, _ := cmd.CombinedOutput()
	res, err := store.ReadRunResult(filepath.Join(st, "latest"))
	if err != nil {
		t.Fatalf("%v: no results: %v\n%s", args, err, out)
	}
	return cmd.ProcessState.ExitCode(), res
}

// kinds lists the anomaly kinds a checker reported.
func kinds(res store.RunResult, checkerName string) map[string]int {
	out := map[string]int{}
	for _, r := range res.Results {
		if r.Checker == checkerName {
			for _, a := range r.Anomalies {
				out[a.Kind]++
			}
		}
	}
	return out
}

func TestDockerRedisStalledHolderOutlivesItsLease(t *testing.T) {
	testdocker.Need(t)
	code, res := runJudged(t, "--target", "redis", "--nemesis", "client-pause", "--ttl", "1s",
		"--time-limit", "12s", "--nemesis-interval", "4s", "--seed", "1")
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1: %s", code, res.Summary)
	}
	k := kinds(res, "mutual-exclusion")
	if k["holder-outlived-lease"] == 0 || k["service-granted-early"] != 0 {
		t.Errorf("a stalled holder must be classed as outliving its lease, and the service not blamed: %v", k)
	}
}

func TestDockerRedisForwardClockJumpIsAnEarlyGrant(t *testing.T) {
	testdocker.Need(t)
	code, res := runJudged(t, "--target", "redis", "--nemesis", "clock", "--opt", "clock.mode=bump",
		"--ttl", "5s", "--hold", "500ms", "--time-limit", "15s", "--nemesis-interval", "5s", "--seed", "1")
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1: %s", code, res.Summary)
	}
	k := kinds(res, "mutual-exclusion")
	if k["service-granted-early"] == 0 {
		t.Errorf("a forward jump on the Redis node must show as the service granting early: %v", k)
	}
}
