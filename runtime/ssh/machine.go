package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"
)

// A machine runs shell command lines: a host over SSH, or this machine
// for clients when the inventory has no client host.
type machine interface {
	// run runs cmd and waits for it; a non-zero exit is in code, not err.
	run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (code int, err error)
	// start starts cmd with its streams connected.
	start(ctx context.Context, cmd string) (stream, error)
	// label names the machine in errors.
	label() string
}

// A stream is a started command.
type stream interface {
	stdin() io.WriteCloser
	stdout() io.Reader
	stderr() io.Reader
	// wait returns the exit status once the command ended.
	wait() (int, error)
	close() error
}

// exitCode turns the end of a session into an exit status.
func exitCode(err error) (int, error) {
	var ee *xssh.ExitError
	var le *exec.ExitError
	var missing *xssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ee.Signal() != "" && ee.ExitStatus() == 0 {
			return 128 + 9, nil
		}
		return ee.ExitStatus(), nil
	case errors.As(err, &le):
		if le.ExitCode() < 0 {
			return 128 + 9, nil
		}
		return le.ExitCode(), nil
	case errors.As(err, &missing):
		return 255, nil
	}
	return 0, err
}

// runOut runs cmd on m and returns its output.
func runOut(ctx context.Context, m machine, cmd string, stdin []byte) (stdout, stderr string, code int, err error) {
	var o, e bytes.Buffer
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	code, err = m.run(ctx, cmd, in, &o, &e)
	return o.String(), e.String(), code, err
}

// sshHost is a host reached over SSH. Sessions share connections; sshd
// allows few sessions per connection (MaxSessions, 10 by default), so a
// host dials another connection when all of its connections refuse one.
type sshHost struct {
	host   Host
	config *xssh.ClientConfig

	mu    sync.Mutex
	conns []*xssh.Client
}

func (h *sshHost) label() string { return fmt.Sprintf("%s (%s)", h.host.Name, h.host.Addr()) }

// dialTimeout bounds a connection's TCP connect and handshake.
const dialTimeout = 20 * time.Second

func (h *sshHost) dial(ctx context.Context) (*xssh.Client, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", h.host.Addr())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", h.label(), err)
	}
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	c, chans, reqs, err := xssh.NewClientConn(conn, h.host.Addr(), h.config)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh to %s: %w", h.label(), err)
	}
	_ = conn.SetDeadline(time.Time{})
	return xssh.NewClient(c, chans, reqs), nil
}

// client returns the first connection, dialling it if needed.
func (h *sshHost) client(ctx context.Context) (*xssh.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) > 0 {
		return h.conns[0], nil
	}
	c, err := h.dial(ctx)
	if err != nil {
		return nil, err
	}
	h.conns = append(h.conns, c)
	return c, nil
}

// session opens a session on a connection that takes one.
func (h *sshHost) session(ctx context.Context) (*xssh.Session, error) {
	if _, err := h.client(ctx); err != nil {
		return nil, err
	}
	h.mu.Lock()
	conns := append([]*xssh.Client(nil), h.conns...)
	h.mu.Unlock()
	var last error
	for _, c := range conns {
		s, err := c.NewSession()
		if err == nil {
			return s, nil
		}
		last = err
		var oce *xssh.OpenChannelError
		if !errors.As(err, &oce) {
			// A broken connection: drop it.
			h.drop(c)
		}
	}
	c, err := h.dial(ctx)
	if err != nil {
		return nil, errors.Join(last, err)
	}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	s, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("open a session on %s: %w", h.label(), err)
	}
	return s, nil
}

func (h *sshHost) drop(c *xssh.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.conns {
		if x == c {
			h.conns = append(h.conns[:i], h.conns[i+1:]...)
			break
		}
	}
	c.Close()
}

// localAddr is this machine's address on the first connection.
func (h *sshHost) localAddr(ctx context.Context) (string, error) {
	c, err := h.client(ctx)
	if err != nil {
		return "", err
	}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String(), nil
	}
	host, _, err := net.SplitHostPort(c.LocalAddr().String())
	return host, err
}

func (h *sshHost) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

func (h *sshHost) run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	s, err := h.session(ctx)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	if err := s.Start(cmd); err != nil {
		return 0, fmt.Errorf("on %s: %w", h.label(), err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		code, err := exitCode(err)
		if err != nil {
			return 0, fmt.Errorf("on %s: %w", h.label(), err)
		}
		return code, nil
	case <-ctx.Done():
		s.Close()
		return 0, ctx.Err()
	}
}

func (h *sshHost) start(ctx context.Context, cmd string) (stream, error) {
	s, err := h.session(ctx)
	if err != nil {
		return nil, err
	}
	in, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	errp, err := s.StderrPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Start(cmd); err != nil {
		s.Close()
		return nil, fmt.Errorf("on %s: %w", h.label(), err)
	}
	return newPiped(in, out, errp, s.Wait, s.Close), nil
}

// piped copies a command's output into pipes, so that wait returns only
// once both have been read to the end, as runtime.Process asks.
type piped struct {
	in         io.WriteCloser
	outR, errR *io.PipeReader
	done       chan struct{}
	waitFn     func() error
	closeFn    func() error
	once       sync.Once
}

func newPiped(in io.WriteCloser, out, errs io.Reader, wait, closeFn func() error) *piped {
	p := &piped{in: in, done: make(chan struct{}), waitFn: wait, closeFn: closeFn}
	var outW, errW *io.PipeWriter
	p.outR, outW = io.Pipe()
	p.errR, errW = io.Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, err := io.Copy(outW, out); outW.CloseWithError(orEOF(err)) }()
	go func() { defer wg.Done(); _, err := io.Copy(errW, errs); errW.CloseWithError(orEOF(err)) }()
	go func() { wg.Wait(); close(p.done) }()
	return p
}

func orEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

func (p *piped) stdin() io.WriteCloser { return p.in }
func (p *piped) stdout() io.Reader     { return p.outR }
func (p *piped) stderr() io.Reader     { return p.errR }

func (p *piped) wait() (int, error) {
	<-p.done
	return exitCode(p.waitFn())
}

func (p *piped) close() error {
	p.once.Do(func() {
		_ = p.closeFn()
		p.outR.Close()
		p.errR.Close()
	})
	return nil
}

// localMachine runs command lines on this machine with sh -c: the client
// machine of a run whose inventory has no client host.
type localMachine struct{}

func (localMachine) label() string { return "this machine" }

func (localMachine) command(ctx context.Context, cmd string) *exec.Cmd {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Env = os.Environ()
	c.WaitDelay = time.Second
	return c
}

func (m localMachine) run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c := m.command(ctx, cmd)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	err := c.Run()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return exitCode(err)
}

func (m localMachine) start(_ context.Context, cmd string) (stream, error) {
	// The process outlives the start's context, as Spawn says.
	c := m.command(context.Background(), cmd)
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errp, err := c.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	var once sync.Once
	var werr error
	wait := func() error { once.Do(func() { werr = c.Wait() }); return werr }
	return newPiped(in, out, errp, wait, func() error { return nil }), nil
}
