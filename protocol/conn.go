package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// ErrNoReply is wrapped when a reply did not come within the op timeout:
// the call is indeterminate.
var ErrNoReply = errors.New("no reply")

// ErrGone is wrapped when the client's output ended (it exited or was
// killed) before it replied.
var ErrGone = errors.New("client output ended")

// A Stream is the connection to a client process: its standard input and
// output, with read deadlines (a *net.TCPConn, or net.Pipe in tests).
type Stream interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// A Conn is the harness's end of one client process: it writes requests
// to its input and reads the replies from its output, on the caller's
// goroutine with a read deadline, so that a lock call costs no hand-over
// between goroutines. It implements targets.Client, so that workloads
// drive a process like any other client. Calls are sequential, as the
// protocol has one request outstanding at a time.
type Conn struct {
	// Name names the client in errors: its command and process id.
	Name string

	s    Stream
	r    *bufio.Reader
	node atomic.Value // string
	// checks says that the client answers check requests.
	checks atomic.Bool

	mu     sync.Mutex
	nextID int64
	broken error // the first protocol error: the Conn is unusable after it
	gone   error // why the output ended, once it has

	// Trace, if set, is told every line written (">") and read ("<"),
	// for a transcript in the run log; it must not block.
	Trace func(dir string, line []byte)
}

// NewConn returns the harness's end of a client process on s. name names
// the client in errors; node is the node it was assigned.
func NewConn(name string, s Stream, node string) *Conn {
	c := &Conn{Name: name, s: s, r: bufio.NewReaderSize(s, 64<<10)}
	c.node.Store(node)
	return c
}

// readLine reads one line by deadline, or says why it could not.
func (c *Conn) readLine(ctx context.Context, deadline time.Time) ([]byte, error) {
	if c.gone != nil {
		return nil, c.gone
	}
	_ = c.s.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.s.SetReadDeadline(time.Now()) })
	defer stop()
	var buf []byte
	for {
		part, err := c.r.ReadSlice('\n')
		buf = append(buf, part...)
		if err == nil {
			return bytes.TrimSuffix(buf, []byte("\n")), nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > MaxLine {
				return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformed, MaxLine)
			}
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errTimeout
		}
		// A client that exits with our request unread makes its end of
		// the relay reset the connection rather than close it.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
			err = ErrGone
		}
		c.gone = err
		return nil, err
	}
}

// errTimeout marks a read that reached its deadline.
var errTimeout = errors.New("read deadline")

// Init sends the init request and waits up to timeout for init_ok.
func (c *Conn) Init(ctx context.Context, in Init, timeout time.Duration) error {
	r, err := c.call(ctx, Request{Type: TypeInit, Init: &in}, timeout)
	if err != nil {
		return err
	}
	if r.Type != TypeInitOK {
		if r.Type == TypeError {
			return fmt.Errorf("%s %w: %s", c.Name, ErrInitRefused, r.Error)
		}
		return c.fail(fmt.Errorf("%w: %s answered init with %q, want init_ok", ErrMalformed, c.Name, r.Type))
	}
	c.checks.Store(r.Checks)
	return nil
}

// CanCheck implements targets.Checker: the client said at init that it
// answers check requests.
func (c *Conn) CanCheck() bool { return c.checks.Load() }

// Check implements targets.Checker: nil while the client believes it holds
// key, an error wrapping targets.ErrLost once it knows it lost it, and any
// other error when it cannot tell.
func (c *Conn) Check(ctx context.Context, key string) error {
	r, err := c.call(ctx, Request{Type: TypeCheck, Key: key}, opTimeout(ctx))
	if err != nil {
		return err
	}
	switch {
	case r.Type == TypeOK:
		return nil
	case r.Type == TypeError && r.Definite:
		return fmt.Errorf("%w: %s", targets.ErrLost, r.Error)
	case r.Type == TypeError:
		return fmt.Errorf("check %s: cannot tell: %s", key, r.Error)
	}
	return c.fail(fmt.Errorf("%w: %s answered check with %q", ErrMalformed, c.Name, r.Type))
}

// call sends req with the next id and waits up to timeout for its reply.
func (c *Conn) call(ctx context.Context, req Request, timeout time.Duration) (Reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return Reply{}, c.broken
	}
	c.nextID++
	req.ID = c.nextID
	b, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	if c.Trace != nil {
		c.Trace(">", b)
	}
	if _, err := c.s.Write(append(b, '\n')); err != nil {
		return Reply{}, fmt.Errorf("%s: write %s: %w", c.Name, req.Type, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		l, err := c.readLine(ctx, deadline)
		switch {
		case errors.Is(err, errTimeout):
			return Reply{}, fmt.Errorf("%s: %s: %w within %s", c.Name, what(req), ErrNoReply, timeout)
		case errors.Is(err, ErrMalformed):
			return Reply{}, c.failLocked(fmt.Errorf("%s: %w", c.Name, err))
		case err != nil:
			return Reply{}, fmt.Errorf("%s: %s: %w", c.Name, what(req), err)
		}
		if c.Trace != nil {
			c.Trace("<", l)
		}
		r, err := ParseReply(l)
		if err != nil {
			return Reply{}, c.failLocked(fmt.Errorf("%s printed a line that is not a reply: %q: %w", c.Name, truncate(l), err))
		}
		if r.ID < req.ID {
			continue // the late reply of a call that timed out
		}
		if r.ID != req.ID {
			return Reply{}, c.failLocked(fmt.Errorf("%w: %s answered request %d, but %d is the newest: %q", ErrMalformed, c.Name, r.ID, req.ID, truncate(l)))
		}
		if r.Node != "" {
			c.node.Store(r.Node)
		}
		return r, nil
	}
}

// what names a request in errors: "init", "acquire lock-0".
func what(r Request) string {
	if r.Key == "" {
		return r.Type
	}
	return r.Type + " " + r.Key
}

func (c *Conn) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failLocked(err)
}

func (c *Conn) failLocked(err error) error {
	if c.broken == nil {
		c.broken = fmt.Errorf("%w: %w", targets.ErrBrokenClient, err)
	}
	return c.broken
}

// Broken returns the protocol error that made the Conn unusable, or nil.
func (c *Conn) Broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

// opTimeout is the time a lock call may take: its context's deadline.
func opTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return time.Minute
}

// Acquire implements targets.Client. A definite error is
// targets.ErrNotAcquired; any other is indeterminate.
func (c *Conn) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	r, err := c.call(ctx, Request{Type: TypeAcquire, Key: key}, opTimeout(ctx))
	if err != nil {
		return targets.Grant{}, err
	}
	if r.Type == TypeOK {
		return targets.Grant{Token: r.Token}, nil
	}
	if r.Type == TypeError && r.Definite {
		return targets.Grant{}, fmt.Errorf("%w: %s", targets.ErrNotAcquired, r.Error)
	}
	if r.Type == TypeError {
		return targets.Grant{}, unknownOutcome("acquire", key, r.Error)
	}
	return targets.Grant{}, c.fail(fmt.Errorf("%w: %s answered acquire with %q", ErrMalformed, c.Name, r.Type))
}

// Release implements targets.Client. A definite error is
// targets.ErrNotHeld; any other is indeterminate.
func (c *Conn) Release(ctx context.Context, key string) error {
	r, err := c.call(ctx, Request{Type: TypeRelease, Key: key}, opTimeout(ctx))
	if err != nil {
		return err
	}
	switch {
	case r.Type == TypeOK:
		return nil
	case r.Type == TypeError && r.Definite:
		return fmt.Errorf("%w: %s", targets.ErrNotHeld, r.Error)
	case r.Type == TypeError:
		return unknownOutcome("release", key, r.Error)
	}
	return c.fail(fmt.Errorf("%w: %s answered release with %q", ErrMalformed, c.Name, r.Type))
}

// Node implements targets.Client: the node the client last named, or the
// one it was assigned.
func (c *Conn) Node() string { return c.node.Load().(string) }

// unknownOutcome is the error of a call whose outcome the client could
// not tell, without saying so twice when the client's own words do.
func unknownOutcome(call, key, msg string) error {
	prefix := fmt.Sprintf("%s %s: outcome unknown: ", call, key)
	return errors.New(prefix + strings.TrimPrefix(msg, prefix))
}

func truncate(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
