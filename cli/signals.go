package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// signalGrace is how long the process may spend on cleanup after the first
// SIGINT or SIGTERM: a run heals its faults and tears its cluster down in
// a few seconds. Past it, or at a second signal, Main returns whatever the
// command is blocked on.
const signalGrace = 20 * time.Second

// supervise runs cmd with a context that the first signal on sigs cancels,
// and returns cmd's exit code when it ends. When it does not end within
// grace of that signal, or another signal comes, supervise returns without
// it: 130 after SIGINT, 143 after SIGTERM (128 plus the signal's number, as
// shells report a process killed by it). Notes on what happens go to
// stderr.
func supervise(sigs <-chan os.Signal, grace time.Duration, stderr io.Writer, cmd func(context.Context) int) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- cmd(ctx) }()
	code := 0
	var deadline <-chan time.Time
	for {
		select {
		case c := <-done:
			return c
		case s := <-sigs:
			if deadline != nil {
				fmt.Fprintf(stderr, "lockstorm: %v again: exiting without waiting for cleanup\n", s)
				return code
			}
			code = signalCode(s)
			cancel()
			fmt.Fprintf(stderr, "lockstorm: %v: stopping and cleaning up (at most %s; send it again to exit at once)\n", s, grace)
			t := time.NewTimer(grace)
			defer t.Stop()
			deadline = t.C
		case <-deadline:
			fmt.Fprintf(stderr, "lockstorm: cleanup did not end within %s: exiting\n", grace)
			return code
		}
	}
}

// signalCode is the exit code of a process ended by s: 128 plus its number.
func signalCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGINT)
}
