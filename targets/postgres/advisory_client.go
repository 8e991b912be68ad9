package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/targets"
)

// pgAdvisoryBinding is the Go binding of postgres-advisory: pgx, one
// session per client.
type pgAdvisoryBinding struct{}

// NewClient returns a client with its own session; every client talks to
// the one server.
func (pgAdvisoryBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
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
func (c *pgAdvisoryClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	id := pgAdvisoryKey(key)
	return pgAcquire(ctx, c.conn, key, c.wait, func(ctx context.Context, conn *pgx.Conn) (targets.Grant, bool, error) {
		var got bool
		err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&got)
		return targets.Grant{}, got, err
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
		return fmt.Errorf("release %s: %w (pg_advisory_unlock returned false)", key, targets.ErrNotHeld)
	}
	return nil
}

func (c *pgAdvisoryClient) Node() string { return c.node }

// Abandon drops the TCP connection without unlocking.
func (c *pgAdvisoryClient) Abandon() { c.conn.abandon() }

// Close ends the session, which also frees its locks.
func (c *pgAdvisoryClient) Close() error { return c.conn.close() }
