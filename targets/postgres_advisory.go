package targets

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstorm/lockstorm/plan"
)

// PostgresAdvisory locks with PostgreSQL's session-level advisory locks:
// pg_try_advisory_lock on a 64-bit hash of the key, retried until the wait
// runs out, and pg_advisory_unlock. The lock lives exactly as long as the
// client's session (its TCP connection): it never expires while the session
// lives, and it vanishes, without the holder being told, when the server
// ends the session (a crash of the server, a connection it found dead).
// Advisory locks carry no fencing token.
type PostgresAdvisory struct {
	pgServer
}

// NewPostgresAdvisory returns the postgres-advisory target.
func NewPostgresAdvisory() *PostgresAdvisory { return &PostgresAdvisory{} }

// Name implements Service.
func (*PostgresAdvisory) Name() string { return "postgres-advisory" }

// Describe implements Service: one server.
func (*PostgresAdvisory) Describe() Descriptor {
	return pgDescriptor("PostgreSQL 15 session advisory locks (pg_try_advisory_lock): no expiry, freed when the session ends, no token")
}

// Prepare implements Service: an advisory lock has no expiry; it ends
// with the session.
func (*PostgresAdvisory) Prepare(*plan.Plan) (time.Duration, error) { return 0, nil }

// Setup starts the server on the first node; advisory locks need no
// schema. An advisory lock has no expiry, it ends with the session: the
// lease is zero.
func (a *PostgresAdvisory) Setup(ctx context.Context, env *Env) (time.Duration, error) {
	return 0, a.setup(ctx, env, "")
}

// HasTokens implements Fencer: advisory locks have no token. (A sequence
// read in the same session could number grants, but nothing in the lock
// would tie that number to the lock's life.)
func (*PostgresAdvisory) HasTokens() bool { return false }

// Binding implements Service.
func (*PostgresAdvisory) Binding() Binding { return pgAdvisoryBinding{} }

// SessionBound implements SessionBound: an advisory lock belongs to the
// session that took it, and ends with it.
func (*PostgresAdvisory) SessionBound() bool { return true }

// Teardown implements Service: the clients close their own sessions.
func (*PostgresAdvisory) Teardown(context.Context) error { return nil }

// pgAdvisoryBinding is the Go binding of postgres-advisory: pgx, one
// session per client.
type pgAdvisoryBinding struct{}

// NewClient returns a client with its own session; every client talks to
// the one server.
func (pgAdvisoryBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	conn, node, err := pgNewConn(env)
	if err != nil {
		return nil, err
	}
	return &pgAdvisoryClient{conn: conn, node: node, wait: env.Plan.Wait}, nil
}

// pgAdvisoryKey maps a lock name to the bigint that names its advisory lock.
func pgAdvisoryKey(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("lockstorm:" + key))
	return int64(h.Sum64())
}

type pgAdvisoryClient struct {
	conn *pgConn
	node string
	wait time.Duration
}

// Acquire tries pg_try_advisory_lock until it returns true or the wait runs
// out. A session that dies is replaced between attempts: it held no lock
// that this client could still count on.
func (c *pgAdvisoryClient) Acquire(ctx context.Context, key string) (Grant, error) {
	id := pgAdvisoryKey(key)
	return pgAcquire(ctx, c.conn, key, c.wait, func(ctx context.Context, conn *pgx.Conn) (Grant, bool, error) {
		var got bool
		err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&got)
		return Grant{}, got, err
	})
}

// Release calls pg_advisory_unlock in the session that took the lock. If
// that session is gone, the server drops the lock when it notices, at a
// moment nobody knows: indeterminate.
func (c *pgAdvisoryClient) Release(ctx context.Context, key string) error {
	conn := c.conn.current()
	if conn == nil {
		return fmt.Errorf("release %s: session lost, the server frees its locks when it notices", key)
	}
	var released bool
	err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", pgAdvisoryKey(key)).Scan(&released)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	if !released {
		return fmt.Errorf("release %s: %w (pg_advisory_unlock returned false)", key, ErrNotHeld)
	}
	return nil
}

func (c *pgAdvisoryClient) Node() string { return c.node }

// Abandon drops the TCP connection without unlocking.
func (c *pgAdvisoryClient) Abandon() { c.conn.abandon() }

// Close ends the session, which also frees its locks.
func (c *pgAdvisoryClient) Close() error { return c.conn.close() }
