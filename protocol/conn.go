package protocol

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// ErrNoReply is wrapped when a reply did not come within the op timeout:
// the call is indeterminate.
var ErrNoReply = errors.New("no reply")

// ErrGone is wrapped when the client's output ended (it exited or was
// killed) before it replied.
var ErrGone = errors.New("client output ended")

// A Conn is the harness's end of one client process: it writes requests
// to its input and reads the replies from its output. It implements
// targets.Client, so that workloads drive a process like any other
// client. Calls are sequential, as the protocol has one request
// outstanding at a time.
type Conn struct {
	// Name names the client in errors: its command and process id.
	Name string

	in    io.Writer
	lines chan line
	node  atomic.Value // string

	mu     sync.Mutex
	nextID int64
	broken error // the first protocol error: the Conn is unusable after it

	// Trace, if set, is told every line written (">") and read ("<"),
	// for a transcript in the run log; it must not block.
	Trace func(dir string, line []byte)
}

type line struct {
	b   []byte
	err error
}

// NewConn starts reading replies from out. name names the client in
// errors.
func NewConn(name string, in io.Writer, out io.Reader, node string) *Conn {
	c := &Conn{Name: name, in: in, lines: make(chan line, 4)}
	c.node.Store(node)
	go c.read(out)
	return c
}

// read passes every line of out to the channel, then the error that ended
// it.
func (c *Conn) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	for sc.Scan() {
		b := append([]byte(nil), sc.Bytes()...)
		c.lines <- line{b: b}
	}
	err := sc.Err()
	if err == nil {
		err = ErrGone
	} else if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("%w: a line longer than %d bytes", ErrMalformed, MaxLine)
	}
	c.lines <- line{err: err}
	close(c.lines)
}

// Init sends the init request and waits up to timeout for init_ok.
func (c *Conn) Init(ctx context.Context, in Init, timeout time.Duration) error {
	r, err := c.call(ctx, Request{Type: TypeInit, Init: &in}, timeout)
	if err != nil {
		return err
	}
	if r.Type != TypeInitOK {
		if r.Type == TypeError {
			return fmt.Errorf("%s refused init: %s", c.Name, r.Error)
		}
		return c.fail(fmt.Errorf("%w: %s answered init with %q, want init_ok", ErrMalformed, c.Name, r.Type))
	}
	return nil
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
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return Reply{}, fmt.Errorf("%s: write %s: %w", c.Name, req.Type, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok || l.err != nil {
				err := ErrGone
				if ok {
					err = l.err
				}
				if errors.Is(err, ErrMalformed) {
					return Reply{}, c.failLocked(fmt.Errorf("%s: %w", c.Name, err))
				}
				return Reply{}, fmt.Errorf("%s: %s: %w", c.Name, what(req), err)
			}
			if c.Trace != nil {
				c.Trace("<", l.b)
			}
			r, err := ParseReply(l.b)
			if err != nil {
				return Reply{}, c.failLocked(fmt.Errorf("%s printed a line that is not a reply: %q: %w", c.Name, truncate(l.b), err))
			}
			if r.ID < req.ID {
				continue // the late reply of a call that timed out
			}
			if r.ID != req.ID {
				return Reply{}, c.failLocked(fmt.Errorf("%w: %s answered request %d, but %d is the newest: %q", ErrMalformed, c.Name, r.ID, req.ID, truncate(l.b)))
			}
			if r.Node != "" {
				c.node.Store(r.Node)
			}
			return r, nil
		case <-t.C:
			return Reply{}, fmt.Errorf("%s: %s: %w within %s", c.Name, what(req), ErrNoReply, timeout)
		case <-ctx.Done():
			return Reply{}, fmt.Errorf("%s: %s: %w", c.Name, what(req), ctx.Err())
		}
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
		return targets.Grant{}, fmt.Errorf("acquire %s: outcome unknown: %s", key, r.Error)
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
		return fmt.Errorf("release %s: outcome unknown: %s", key, r.Error)
	}
	return c.fail(fmt.Errorf("%w: %s answered release with %q", ErrMalformed, c.Name, r.Type))
}

// Node implements targets.Client: the node the client last named, or the
// one it was assigned.
func (c *Conn) Node() string { return c.node.Load().(string) }

func truncate(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
