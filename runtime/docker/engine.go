package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
)

// DefaultEngineTimeout is how long one call to the engine may wait for the
// engine to begin its answer (the response headers; a stream such as a
// build's output may go on for longer once it has begun). The slowest
// calls measured on a loaded 2-core machine with three runs sharing the
// engine took a few seconds (docs/robustness.md, "A stuck engine"); an
// engine that says nothing for a minute is taken as stuck.
const DefaultEngineTimeout = 60 * time.Second

// EngineTimeoutEnv names the environment variable that overrides
// DefaultEngineTimeout with a Go duration such as "90s".
const EngineTimeoutEnv = "LOCKSTORM_ENGINE_TIMEOUT"

// EngineTraceEnv names the environment variable that, set to a file's
// path, makes every engine call append a line to that file: the wall
// time, the call and how long its answer took to begin, in
// milliseconds. Several processes may share one file. It is how the
// deadline was sized (docs/robustness.md).
const EngineTraceEnv = "LOCKSTORM_ENGINE_TRACE"

// EngineTimeout returns the engine call deadline: DefaultEngineTimeout, or
// the duration in LOCKSTORM_ENGINE_TIMEOUT. A value that is not a positive
// duration of at most an hour is an error that names the variable.
func EngineTimeout() (time.Duration, error) {
	s := os.Getenv(EngineTimeoutEnv)
	if s == "" {
		return DefaultEngineTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > time.Hour {
		return 0, fmt.Errorf("%s=%q: want a duration between 1ms and 1h, such as 90s", EngineTimeoutEnv, s)
	}
	return d, nil
}

// engineTransport gives every call to the engine a deadline for the start
// of its answer. The first call that misses it marks the engine stuck, and
// every later call fails at once with an EngineError that names the first,
// so that a run on a stuck engine ends within one deadline instead of one
// deadline per call.
type engineTransport struct {
	next    http.RoundTripper
	timeout time.Duration

	mu     sync.Mutex
	stuck  *runtime.EngineError
	stuckC chan struct{} // closed when stuck is set
	trace  *os.File      // LOCKSTORM_ENGINE_TRACE, or nil
}

// newEngineTransport wraps next with the deadline timeout.
func newEngineTransport(next http.RoundTripper, timeout time.Duration) *engineTransport {
	t := &engineTransport{next: next, timeout: timeout, stuckC: make(chan struct{})}
	if path := os.Getenv(EngineTraceEnv); path != "" {
		// A trace that cannot be opened is no reason to stop a run.
		t.trace, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	}
	return t
}

// traceCall appends one line for a call that began at start.
func (t *engineTransport) traceCall(call string, start time.Time, outcome string) {
	if t.trace == nil {
		return
	}
	fmt.Fprintf(t.trace, "%d %s %d %s\n", start.UnixMilli(), strings.ReplaceAll(call, " ", "_"), time.Since(start).Milliseconds(), outcome)
}

// errNoAnswer is the cause with which a call's context is cancelled when
// its deadline passes.
var errNoAnswer = errors.New("no answer from the engine")

func (t *engineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	call := callName(req)
	if first := t.stuckOn(); first != nil {
		closeBody(req)
		return nil, &runtime.EngineError{Call: call, Earlier: first}
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	start := time.Now()
	timer := time.AfterFunc(t.timeout, func() { cancel(errNoAnswer) })
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	answered := timer.Stop()
	t.traceCall(call, start, outcomeOf(resp, err, answered))
	if !answered && context.Cause(ctx) == errNoAnswer {
		if err == nil {
			resp.Body.Close()
		}
		cancel(nil)
		e := &runtime.EngineError{Call: call, Waited: t.timeout}
		t.markStuck(e)
		return nil, e
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

func (t *engineTransport) stuckOn() *runtime.EngineError {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stuck
}

func (t *engineTransport) markStuck(e *runtime.EngineError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stuck == nil {
		t.stuck = e
		close(t.stuckC)
	}
}

// deadline is how long a call may wait for the engine: the transport's
// deadline, or DefaultEngineTimeout without one.
func (t *engineTransport) deadline() time.Duration {
	if t == nil {
		return DefaultEngineTimeout
	}
	return t.timeout
}

// noAnswer records that call, which waits beyond the start of its answer
// (a container's stop), got no answer within the deadline, and returns
// the EngineError; err is the call's own error, kept for the log.
func (t *engineTransport) noAnswer(call string, err error) error {
	e := &runtime.EngineError{Call: call, Waited: t.deadline()}
	if t != nil {
		t.markStuck(e)
	}
	return fmt.Errorf("%w (%v)", e, err)
}

// outcomeOf names a call's outcome for the trace.
func outcomeOf(resp *http.Response, err error, answered bool) string {
	switch {
	case !answered:
		return "no-answer"
	case err != nil:
		return "error"
	}
	return fmt.Sprint(resp.StatusCode)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// cancelOnClose releases a call's context when its answer is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// apiVersion matches the API version prefix of an engine path ("/v1.41").
var apiVersion = regexp.MustCompile(`^/v[0-9]+\.[0-9]+`)

// callName names a call for a person: its method and its path without the
// API version, with container and network ids cut to 12 characters.
func callName(req *http.Request) string {
	p := apiVersion.ReplaceAllString(req.URL.Path, "")
	return req.Method + " " + longID.ReplaceAllStringFunc(p, func(id string) string { return id[:12] })
}

// longID matches a full 64-digit engine id.
var longID = regexp.MustCompile(`[0-9a-f]{64}`)

// Stuck implements runtime.EngineWatcher.
// A Runtime made without New never takes its engine as stuck.
func (d *Runtime) Stuck() <-chan struct{} {
	if d.eng == nil {
		return nil
	}
	return d.eng.stuckC
}

// StuckOn implements runtime.EngineWatcher.
func (d *Runtime) StuckOn() *runtime.EngineError { return d.eng.stuckOn() }
