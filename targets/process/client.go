package process

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/protocol"
	"github.com/lockstorm/lockstorm/runtime"
)

// A procClient is one client process: the protocol connection to it, and
// the powers over it that a machine's operator has (stop, kill).
type procClient struct {
	*protocol.Conn
	pool      *Pool
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
	res, err := c.pool.Cluster.Exec(ctx, c.container, []string{"sh", "-c",
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
		c.pool.Log.Debug("kill client", "err", err)
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
		_, _ = c.pool.Cluster.Exec(ctx, c.container, []string{"rm", "-f", c.pidFile}, runtime.ExecOptions{})
	})
}

var _ io.Closer = (*procClient)(nil)
