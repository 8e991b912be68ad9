//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
)

// Every command that reads a file refuses a FIFO (whose open would block
// forever) and a device that never ends, at once and with exit 3.
func TestCommandsRefuseFIFOsAndDevicesAtOnceWithExit3(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "input")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	runDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(runDir, "history.jsonl"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{fifo: "a FIFO"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		inputs["/dev/zero"] = "a character device"
	}
	for path, kind := range inputs {
		for _, args := range [][]string{{"check", path}, {"campaign", path}, {"report", "merge", "--store", dir, path}} {
			start := time.Now()
			code, _, errOut := lockstormWithin(t, 5*time.Second, args...)
			if code != exitUsage || !strings.Contains(errOut, path) || !strings.Contains(errOut, kind) {
				t.Errorf("%v: exit %d, stderr %q; want 3 naming %s as %s", args, code, errOut, path, kind)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%v took %s; want it refused at once", args, d)
			}
		}
	}
	code, _, errOut := lockstormWithin(t, 5*time.Second, "check", runDir)
	if code != exitUsage || !strings.Contains(errOut, "history.jsonl: not a regular file (it is a FIFO)") {
		t.Errorf("check of a run directory whose history is a FIFO: exit %d, stderr %q", code, errOut)
	}
	// A real history, and a results.json that is a FIFO.
	if err := os.Remove(filepath.Join(runDir, "history.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "history.jsonl"), []byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(runDir, "results.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = lockstormWithin(t, 5*time.Second, "check", runDir)
	if code != exitUsage || !strings.Contains(errOut, "results.json: not a regular file (it is a FIFO)") {
		t.Errorf("check of a run directory whose results.json is a FIFO: exit %d, stderr %q", code, errOut)
	}
}

// lockstormWithin is lockstorm that fails the test when the command has not
// returned after d.
func lockstormWithin(t *testing.T, d time.Duration, args ...string) (code int, out, errOut string) {
	t.Helper()
	err := wait.Within(d, func() error {
		code, out, errOut = lockstorm(t, args...)
		return nil
	})
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return code, out, errOut
}

func TestCampaignFlagsOutOfRangeExit3NamingTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"campaign", "--parallel", "1000"}, "--parallel 1000 must be 0 (the file's setting) or 1..8"},
		{[]string{"campaign", "--parallel", "-5"}, "--parallel -5 must be 0"},
		{[]string{"campaign", "--parallel", "9"}, "--parallel 9 must be 0"},
		{[]string{"campaign", "--shard", "1/2x"}, `--shard "1/2x": want i/n with 1 <= i <= n <= 1000`},
		{[]string{"campaign", "--shard", "0/2"}, `--shard "0/2"`},
		{[]string{"campaign", "--shard", "3/2"}, `--shard "3/2"`},
		{[]string{"campaign", "--shard", "1/5000"}, `--shard "1/5000"`},
	} {
		code, _, errOut := lockstormWithin(t, 5*time.Second, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 3 with %q", c.args, code, errOut, c.want)
		}
	}
}
