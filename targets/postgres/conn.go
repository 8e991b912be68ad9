package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// errPgAbandoned is returned by a PostgreSQL client used after Abandon.
var errPgAbandoned = errors.New("postgres client abandoned")

// pgConn is the one connection of a PostgreSQL client process. It connects
// lazily, so that a client can be made while the server is down, and
// connects again when its connection has been closed by an error.
type pgConn struct {
	addr string
	app  string
	mu   sync.Mutex // guards conn and abandoned, not the use of conn
	conn *pgx.Conn
	// abandoned is set by Abandon: the client has "crashed".
	abandoned bool
}

// get returns an open connection, connecting if there is none; a connect
// may take until deadline, but at least a second. Connecting changes no
// lock, so its errors are certain failures (see pgNoEffect).
func (p *pgConn) get(ctx context.Context, deadline time.Time) (*pgx.Conn, error) {
	p.mu.Lock()
	if p.abandoned {
		p.mu.Unlock()
		return nil, errPgAbandoned
	}
	if p.conn != nil && !p.conn.IsClosed() {
		c := p.conn
		p.mu.Unlock()
		return c, nil
	}
	p.conn = nil
	p.mu.Unlock()
	if earliest := time.Now().Add(time.Second); deadline.Before(earliest) {
		deadline = earliest
	}
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c, err := pgConnect(cctx, p.addr, pgDatabase, p.app)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.abandoned {
		c.PgConn().Conn().Close()
		return nil, errPgAbandoned
	}
	p.conn = c
	return c, nil
}

// current returns the open connection, or nil if there is none.
func (p *pgConn) current() *pgx.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.abandoned || p.conn == nil || p.conn.IsClosed() {
		return nil
	}
	return p.conn
}

// abandon closes the TCP connection under the client, without a word to the
// server: no unlock, no Terminate message. The server ends the backend when
// it reads end-of-file (at once, on a clean close) or, across a partition,
// when TCP keepalive gives up.
func (p *pgConn) abandon() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.abandoned = true
	if p.conn != nil {
		_ = p.conn.PgConn().Conn().Close()
	}
}

// close ends the session politely.
func (p *pgConn) close() error {
	p.mu.Lock()
	c := p.conn
	p.conn = nil
	p.abandoned = true
	p.mu.Unlock()
	if c == nil || c.IsClosed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Close(ctx)
}

// pgAttempt is one try at a lock: got reports a grant; a nil error with
// got false means the lock was busy.
type pgAttempt func(ctx context.Context, conn *pgx.Conn) (g targets.Grant, got bool, err error)

// pgAcquire retries try with backoff until it grants, until budget has
// passed (ErrNotAcquired), or until an attempt ends in a way that may have
// taken the lock (an error that is not ErrNotAcquired: indeterminate).
// Attempts that certainly had no effect (busy, no connection, an ERROR from
// the server) are retried.
func pgAcquire(ctx context.Context, p *pgConn, key string, budget time.Duration, try pgAttempt) (targets.Grant, error) {
	deadline := time.Now().Add(budget)
	backoff := 2 * time.Millisecond
	var last error
	for {
		conn, err := p.get(ctx, deadline)
		if errors.Is(err, errPgAbandoned) {
			return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
		}
		if err == nil {
			var g targets.Grant
			var got bool
			g, got, err = try(ctx, conn)
			switch {
			case err == nil && got:
				return g, nil
			case err != nil && !pgNoEffect(err):
				return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
			}
		}
		last = err
		if !time.Now().Before(deadline) {
			return targets.Grant{}, pgNotAcquired(key, budget, last)
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		if rest := time.Until(deadline); sleep > rest {
			sleep = rest
		}
		if !wait.Sleep(ctx, sleep) {
			// Nothing is pending: the last attempt certainly had no effect.
			return targets.Grant{}, pgNotAcquired(key, budget, errors.Join(last, ctx.Err()))
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

func pgNotAcquired(key string, wait time.Duration, last error) error {
	if last != nil {
		return fmt.Errorf("acquire %s: %w within %s (last error: %v)", key, targets.ErrNotAcquired, wait, last)
	}
	return fmt.Errorf("acquire %s: %w: busy for %s", key, targets.ErrNotAcquired, wait)
}

// pgNewConn returns the lazily connecting session of one client process
// of p's server (on its first node).
func pgNewConn(env targets.ClientEnv) (*pgConn, string, error) {
	p := env.Plan
	if len(p.Nodes) == 0 {
		return nil, "", fmt.Errorf("postgres: no nodes")
	}
	node := p.Nodes[0].Name
	addr, err := p.Addr(node, pgPort)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: %w", err)
	}
	return &pgConn{addr: addr, app: fmt.Sprintf("lockstorm-p%d", env.Process)}, node, nil
}

// pgNoEffect reports whether err certainly left the server's lock state
// untouched: nothing was sent (a failed connect, a closed connection), or
// the server rejected the statement with an ERROR, which rolls back its
// implicit transaction. A FATAL, a timeout or a connection lost after
// sending are all unknown.
func pgNoEffect(err error) bool {
	if err == nil {
		return true
	}
	var harmless pgHarmless
	if errors.As(err, &harmless) || pgconn.SafeToRetry(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		sev := pe.SeverityUnlocalized
		if sev == "" {
			sev = pe.Severity
		}
		return sev == "ERROR"
	}
	return false
}
