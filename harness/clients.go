package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/internal/relay"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/protocol"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Where client processes live in a client container.
const (
	clientBinDir = "/opt/lockstorm/bin"
	clientDir    = "/opt/lockstorm/client"
	clientPIDDir = "/run/lockstorm/clients"
)

// InitTimeout is the least time a client process gets to answer init:
// starting an interpreter and importing a lock library (tooz with its
// entry points, a JVM) takes seconds when several clients start at once on
// a small machine.
const InitTimeout = 30 * time.Second

// A processPool runs the clients of a run as processes, one per process
// id, spread over the client containers c1..cK, each speaking the client
// protocol on its standard streams.
type processPool struct {
	cluster runtime.Cluster
	plan    *plan.Plan
	keys    []string
	// command is what runs in a client container: lockstorm's own
	// `client` subcommand, or the user's client with its files copied in.
	command []string
	// name names the clients in errors and logs.
	name       string
	containers []string
	log        *slog.Logger
}

// clientBinary is where the lockstorm binary is seen in every client
// container: it runs each client process behind a TCP port (`lockstorm
// relay`), and is the client itself for ClientProcess.
const clientBinary = clientBinDir + "/lockstorm"

// clientCommand works out the command of a plan's client and the host
// files it needs copied in: for ClientProcess, `lockstorm client`; for a
// user's command, every word that names a file or directory on this
// machine, copied into the containers and renamed in the command.
func clientCommand(p *plan.Plan) (cmd []string, files []string, err error) {
	if p.Client == plan.ClientProcess {
		return []string{clientBinary, "client"}, nil, nil
	}
	words, err := splitWords(p.Client)
	if err != nil {
		return nil, nil, err
	}
	for i, w := range words {
		if st, err := os.Stat(w); err == nil && (st.Mode().IsRegular() || st.IsDir()) && (i == 0 || strings.ContainsRune(w, '/') || strings.Contains(w, ".")) {
			files = append(files, w)
			words[i] = clientDir + "/" + filepath.Base(filepath.Clean(w))
		}
	}
	if len(words) == 0 {
		return nil, nil, errors.New("empty client command")
	}
	return words, files, nil
}

// prepare makes the client directories in every client container and
// copies the client's files there.
func (pp *processPool) prepare(ctx context.Context, files []string) error {
	for _, c := range pp.containers {
		res, err := pp.cluster.Exec(ctx, c, []string{"mkdir", "-p", clientDir, clientPIDDir}, runtime.ExecOptions{})
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			return fmt.Errorf("prepare client container %s: %w", c, err)
		}
		for _, f := range files {
			if err := pp.cluster.CopyTo(ctx, c, f, clientDir); err != nil {
				return fmt.Errorf("copy the client to %s: %w", c, err)
			}
		}
	}
	return nil
}

// container is the client container of process: process ids of one
// worker slot stay on one machine.
func (pp *processPool) container(process int) string {
	return pp.containers[process%len(pp.containers)]
}

// initRetry is how long the pool waits before it starts again a client
// that refused init.
const initRetry = time.Second

// newClient starts the client process of process id p (see start). A
// client that refuses init, because it cannot reach its servers (its
// machine is cut off by a fault, say), is started again every initRetry
// until InitTimeout has passed since the first attempt; the error after
// that says why it could not start.
func (pp *processPool) newClient(ctx context.Context, process int) (targets.Client, error) {
	// As in start, the init's own deadline decides, not the caller's.
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(InitTimeout)
	for {
		c, err := pp.start(ctx, process)
		if err == nil || !errors.Is(err, protocol.ErrInitRefused) || time.Now().Add(initRetry).After(deadline) {
			if err != nil {
				pp.log.Error("client did not start", "err", err)
			}
			return c, err
		}
		pp.log.Info("client refused init; starting it again", "process", process, "err", err)
		if !wait.Sleep(ctx, initRetry) {
			return nil, fmt.Errorf("start client process %d: %w", process, ctx.Err())
		}
	}
}

// start starts the process of process id p behind its relay, connects
// to it, sends it init and waits for init_ok (up to the op timeout, and at
// least InitTimeout).
func (pp *processPool) start(ctx context.Context, process int) (targets.Client, error) {
	c := pp.container(process)
	// The init's own deadline, not the caller's, decides when a client
	// that never answers is given up on, so that the error says so.
	ctx = context.WithoutCancel(ctx)
	pidFile := fmt.Sprintf("%s/p%d.pid", clientPIDDir, process)
	// The relay runs the client in a process group of its own, writes its
	// id down (the group is what a freeze stops and a crash kills,
	// children included), and hands it the TCP connection as its standard
	// input and output.
	cmd := append([]string{clientBinary, "relay", "--pid-file", pidFile, "--"}, pp.command...)
	proc, err := pp.cluster.Spawn(ctx, c, cmd, runtime.ExecOptions{})
	if err != nil {
		return nil, fmt.Errorf("start client process %d on %s: %w", process, c, err)
	}
	name := fmt.Sprintf("client %s (process %d on %s)", pp.name, process, c)
	pc := &procClient{pool: pp, proc: proc, container: c, pidFile: pidFile, name: name}
	pc.stderrDone = make(chan struct{})
	go pc.pumpStderr(pp.log.With("process", process, "on", c))
	if pc.conn, err = pp.dial(ctx, proc, c); err != nil {
		pc.Abandon()
		return nil, fmt.Errorf("%w: %s: %v%s", targets.ErrBrokenClient, name, err, pc.lastWords())
	}
	node := pp.plan.NodeFor(process)
	pc.Conn = protocol.NewConn(name, pc.conn, node)
	pc.Conn.Trace = transcript(pp.log.With("process", process), transcriptLines)
	err = pc.Init(ctx, protocol.InitFor(pp.plan, pp.keys, process, node), max(pp.plan.OpTimeout, InitTimeout))
	if err != nil {
		pc.Abandon()
		return nil, fmt.Errorf("%w: %w%s", targets.ErrBrokenClient, err, pc.lastWords())
	}
	return pc, nil
}

// dial reads the port the relay announces and connects to it.
func (pp *processPool) dial(ctx context.Context, proc runtime.Process, container string) (*net.TCPConn, error) {
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(proc.Stdout())
		if sc.Scan() {
			port <- sc.Text()
		}
		close(port)
		_, _ = io.Copy(io.Discard, proc.Stdout())
	}()
	var line string
	select {
	case l, ok := <-port:
		if !ok {
			return nil, errors.New("the relay exited before it listened")
		}
		line = l
	case <-time.After(InitTimeout):
		return nil, errors.New("the relay did not listen within " + InitTimeout.String())
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != relay.Announce {
		return nil, fmt.Errorf("the relay said %q", line)
	}
	ip := ""
	for _, n := range pp.cluster.Clients() {
		if n.Name == container {
			ip = n.IP
		}
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, f[1]))
	if err != nil {
		return nil, fmt.Errorf("connect to the relay: %w", err)
	}
	tc := conn.(*net.TCPConn)
	_ = tc.SetNoDelay(true)
	return tc, nil
}

// A procClient is one client process: the protocol connection to it, and
// the powers over it that a machine's operator has (stop, kill).
type procClient struct {
	*protocol.Conn
	pool      *processPool
	proc      runtime.Process // the relay's exec, for its stderr and its end
	conn      *net.TCPConn    // the client's standard input and output
	container string
	pidFile   string
	name      string

	stderrDone chan struct{}
	mu         sync.Mutex
	tail       []string // the last lines of stderr
	closeOnce  sync.Once
}

// pumpStderr copies the client's standard error into the run log and
// keeps its last lines for error messages.
func (c *procClient) pumpStderr(log *slog.Logger) {
	defer close(c.stderrDone)
	sc := bufio.NewScanner(c.proc.Stderr())
	sc.Buffer(make([]byte, 64<<10), protocol.MaxLine)
	for sc.Scan() {
		line := sc.Text()
		if setsidNoise.MatchString(line) {
			continue // our wrapper reporting that the client was killed
		}
		log.Info("client stderr", "line", line)
		c.mu.Lock()
		c.tail = append(c.tail, line)
		if len(c.tail) > 5 {
			c.tail = c.tail[1:]
		}
		c.mu.Unlock()
	}
}

// transcriptLines is how many protocol lines of each client process go
// into the run log: enough to see how a client starts and fails.
const transcriptLines = 20

// transcript returns a Trace that logs the first n lines at debug level.
func transcript(log *slog.Logger, n int) func(string, []byte) {
	var seen atomic.Int64
	return func(dir string, line []byte) {
		if seen.Add(1) <= int64(n) {
			log.Debug("client protocol "+dir, "line", string(line))
		}
	}
}

// setsidNoise is what setsid -w says when the client it waits for was
// killed by a signal: a crash the harness caused, not the client's words.
var setsidNoise = regexp.MustCompile(`^setsid: child \d+ did not exit normally`)

// lastWords is what the client last wrote on standard error, for errors.
func (c *procClient) lastWords() string {
	select {
	case <-c.stderrDone:
	case <-time.After(500 * time.Millisecond):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tail) == 0 {
		return ""
	}
	return "; its stderr ended with: " + strings.Join(c.tail, " | ")
}

// signal sends sig to the client's process group.
func (c *procClient) signal(ctx context.Context, sig string) error {
	res, err := c.pool.cluster.Exec(ctx, c.container, []string{"sh", "-c",
		`pg=$(cat "$1" 2>/dev/null) && [ -n "$pg" ] && kill -s "$2" -- "-$pg"`, "sh", c.pidFile, sig}, runtime.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return fmt.Errorf("%s to %s: %w", sig, c.name, err)
	}
	return nil
}

// Freeze implements targets.Freezer: SIGSTOP to the whole process group.
func (c *procClient) Freeze(ctx context.Context) error { return c.signal(ctx, "STOP") }

// Thaw implements targets.Freezer: SIGCONT.
func (c *procClient) Thaw(ctx context.Context) error { return c.signal(ctx, "CONT") }

// Abandon implements targets.Client: the process is killed with SIGKILL,
// so it releases nothing; only what the service does about a dead client
// (expiry, a closed session) frees its locks.
func (c *procClient) Abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.signal(ctx, "KILL"); err != nil {
		c.pool.log.Debug("kill client", "err", err)
	}
	c.finish(ctx)
}

// Close implements targets.Client: end of input asks the client to exit;
// one that does not within two seconds is killed.
func (c *procClient) Close() error {
	if c.conn != nil {
		_ = c.conn.CloseWrite()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := c.proc.Wait(ctx)
	cancel()
	if err != nil {
		c.Abandon()
		return nil
	}
	c.finish(context.Background())
	return nil
}

// finish closes the streams once, and removes the pid file.
func (c *procClient) finish(ctx context.Context) {
	c.closeOnce.Do(func() {
		if c.conn != nil {
			_ = c.conn.Close()
		}
		_ = c.proc.Close()
		_, _ = c.pool.cluster.Exec(ctx, c.container, []string{"rm", "-f", c.pidFile}, runtime.ExecOptions{})
	})
}

var _ io.Closer = (*procClient)(nil)

// splitWords splits a command line into words as a POSIX shell would for
// plain words, 'single' and "double" quotes and backslashes; it expands
// nothing.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for i := 0; i < len(s); i++ {
		ch := rune(s[i])
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				cur.WriteByte(s[i])
			}
		case quote == '"':
			switch {
			case ch == '"':
				quote = 0
			case ch == '\\' && i+1 < len(s) && strings.ContainsRune(`"\$`+"`", rune(s[i+1])):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(s[i])
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(s[i])
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
