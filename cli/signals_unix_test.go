//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullPipe returns the write end of a pipe whose buffer is full and that
// nobody reads: a process that writes to it blocks for good, whatever its
// context says.
func fullPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	fd := int(w.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			t.Fatal(err)
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	return w
}

// A blockedProcess is the built binary with its stdout on a full pipe, so
// that `lockstorm targets` blocks on its first write.
type blockedProcess struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan struct{} // closed when the process has exited
}

func startBlocked(t *testing.T) *blockedProcess {
	t.Helper()
	p := &blockedProcess{cmd: exec.Command(binary(t), "targets"), exited: make(chan struct{})}
	p.cmd.Stdout = fullPipe(t)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.exited })
	select {
	case <-p.exited:
		t.Fatalf("lockstorm targets exited on a full pipe: the test did not block it\n%s", &p.stderr)
	case <-time.After(500 * time.Millisecond): // blocked on its write by now
	}
	return p
}

func (p *blockedProcess) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

// exitWithin waits at most d for the process and returns its exit code.
func (p *blockedProcess) exitWithin(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("the process did not exit within %s\n%s", d, &p.stderr)
		return -1
	}
}

func TestBlockedProcessExitsAtOnceOnASecondSIGINT(t *testing.T) {
	p := startBlocked(t)
	p.signal(t, syscall.SIGINT)
	select {
	case <-p.exited:
		t.Fatalf("exited before its grace or a second signal: exit %d\n%s", p.cmd.ProcessState.ExitCode(), &p.stderr)
	case <-time.After(time.Second):
	}
	p.signal(t, syscall.SIGINT)
	if code := p.exitWithin(t, 2*time.Second); code != 130 {
		t.Errorf("exit %d, want 130\n%s", code, &p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "again: exiting without waiting for cleanup") {
		t.Errorf("stderr: %s", &p.stderr)
	}
}

// One SIGTERM, and the process blocked for good: it exits when the grace
// runs out. This waits the whole grace (20 s), so -short skips it.
func TestBlockedProcessExitsWhenTheGraceRunsOut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the whole 20 s grace; skipped with -short")
	}
	p := startBlocked(t)
	start := time.Now()
	p.signal(t, syscall.SIGTERM)
	if code := p.exitWithin(t, signalGrace+5*time.Second); code != 143 {
		t.Errorf("exit %d, want 143\n%s", code, &p.stderr)
	}
	if took := time.Since(start); took < signalGrace-time.Second {
		t.Errorf("exited after %s, before the %s grace", took, signalGrace)
	}
	if !strings.Contains(p.stderr.String(), "cleanup did not end within 20s") {
		t.Errorf("stderr: %s", &p.stderr)
	}
}
