package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// blocked is a command stuck on something that ignores its context (a
// write to a full pipe, a read of a FIFO). It reports that it saw its
// context cancelled.
func blocked(cancelled chan<- struct{}) func(context.Context) int {
	return func(ctx context.Context) int {
		<-ctx.Done()
		close(cancelled)
		select {} // blocked for good
	}
}

func TestSuperviseEndsABlockedCommandAfterTheGrace(t *testing.T) {
	for _, c := range []struct {
		sig  os.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		sigs := make(chan os.Signal, 2)
		cancelled := make(chan struct{})
		var stderr bytes.Buffer
		const grace = 300 * time.Millisecond
		sigs <- c.sig
		start := time.Now()
		code := supervise(sigs, grace, &stderr, blocked(cancelled))
		took := time.Since(start)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d", c.sig, code, c.code)
		}
		if took < grace || took > grace+2*time.Second {
			t.Errorf("%v: returned after %s, want just after the %s grace", c.sig, took, grace)
		}
		select {
		case <-cancelled:
		default:
			t.Errorf("%v: the command's context was not cancelled", c.sig)
		}
		if !strings.Contains(stderr.String(), "cleanup did not end within 300ms") {
			t.Errorf("%v: stderr %q does not say why it exits", c.sig, stderr.String())
		}
	}
}

func TestSuperviseEndsAtOnceOnASecondSignal(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	sigs <- syscall.SIGTERM
	sigs <- syscall.SIGINT
	start := time.Now()
	var stderr bytes.Buffer
	code := supervise(sigs, time.Hour, &stderr, blocked(make(chan struct{})))
	if code != 143 || time.Since(start) > 2*time.Second {
		t.Errorf("exit %d after %s; want 143 (the first signal's) at once", code, time.Since(start))
	}
	if !strings.Contains(stderr.String(), "again: exiting without waiting for cleanup") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// A command that finishes its cleanup in time keeps its own exit code: an
// interrupted run still has a verdict.
func TestSuperviseKeepsTheCodeOfACommandThatFinishes(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	code := supervise(sigs, time.Hour, &bytes.Buffer{}, func(ctx context.Context) int {
		<-ctx.Done()
		return exitUnknown
	})
	if code != exitUnknown {
		t.Errorf("exit %d, want the command's %d", code, exitUnknown)
	}
	if code := supervise(make(chan os.Signal), time.Hour, &bytes.Buffer{}, func(context.Context) int { return exitInvalid }); code != exitInvalid {
		t.Errorf("without a signal: exit %d, want %d", code, exitInvalid)
	}
}
