package targets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstorm/lockstorm/plan"
)

// pgRowSchema is the lock table of both row-lock targets. expires_at is
// used only by postgres-row-expiry.
const pgRowSchema = `CREATE TABLE IF NOT EXISTS lock_table (
	id         text PRIMARY KEY,
	locked     boolean NOT NULL DEFAULT false,
	owner      text,
	token      bigint NOT NULL DEFAULT 0,
	expires_at timestamptz
)`

// The statements of the row locks. Each runs alone, in autocommit.
const (
	pgRowCreate = `INSERT INTO lock_table (id) VALUES ($1) ON CONFLICT DO NOTHING`

	pgRowAcquire = `UPDATE lock_table SET locked = true, owner = $2, token = token + 1
WHERE id = $1 AND locked = false RETURNING token`

	pgRowRelease = `UPDATE lock_table SET locked = false, owner = NULL
WHERE id = $1 AND owner = $2`

	// $3 is the lease in microseconds; the server's clock decides expiry.
	pgRowExpiryAcquire = `UPDATE lock_table SET locked = true, owner = $2, token = token + 1,
	expires_at = clock_timestamp() + $3::bigint * interval '1 microsecond'
WHERE id = $1 AND (locked = false OR expires_at < clock_timestamp()) RETURNING token`

	pgRowExpiryRelease = `UPDATE lock_table SET locked = false, owner = NULL, expires_at = NULL
WHERE id = $1 AND owner = $2`
)

// PostgresRow is a lock kept in a table row, taken with a conditional
// UPDATE: the naive database lock of the chapter, and postgres-row-expiry,
// the same with an expiry time. The row's counter is bumped on every grant,
// in the same statement, and is a real fencing token: it only grows, and it
// survives a restart of the server. Without expiry, a holder that crashes
// leaves the row locked forever.
type PostgresRow struct {
	pgServer
	expiry bool
}

// NewPostgresRow returns the postgres-row target: the naive row lock, which
// never expires.
func NewPostgresRow() *PostgresRow { return &PostgresRow{} }

// NewPostgresRowExpiry returns the postgres-row-expiry target: the row
// lock with an expires_at column, judged by the server's clock.
func NewPostgresRowExpiry() *PostgresRow { return &PostgresRow{expiry: true} }

// Name implements Service.
func (r *PostgresRow) Name() string {
	if r.expiry {
		return "postgres-row-expiry"
	}
	return "postgres-row"
}

// Describe implements Service: one server.
func (r *PostgresRow) Describe() Descriptor {
	if r.expiry {
		return pgDescriptor("PostgreSQL 15 row lock with expires_at (server clock) and a row counter as fencing token")
	}
	return pgDescriptor("PostgreSQL 15 naive row lock (UPDATE ... WHERE locked=false): token counter, no expiry, stuck if a holder crashes")
}

// Prepare implements Service: zero (never) for the naive lock; the TTL
// written into expires_at for the expiring one.
func (r *PostgresRow) Prepare(p *plan.Plan) (time.Duration, error) {
	if r.expiry {
		return p.TTL, nil
	}
	return 0, nil
}

// Setup starts the server on the first node and creates the lock table.
// The lease is zero (never) for the naive lock, and the TTL written into
// expires_at for the expiring one: the expiry is computed from the
// server's clock when the UPDATE runs, after the acquire was sent.
func (r *PostgresRow) Setup(ctx context.Context, env *Env) (time.Duration, error) {
	if err := r.setup(ctx, env, pgRowSchema); err != nil {
		return 0, err
	}
	if r.expiry {
		return env.Plan.TTL, nil
	}
	return 0, nil
}

// HasTokens implements Fencer: the row's counter is the token.
func (*PostgresRow) HasTokens() bool { return true }

// Expiry implements Expirer: with the expiry column a row lock is free
// again a fixed TTL after it was taken; without it, never.
func (r *PostgresRow) Expiry() Expiry {
	if r.expiry {
		return FixedExpiry
	}
	return NoExpiry
}

// Binding implements Service.
func (r *PostgresRow) Binding() Binding { return pgRowBinding{expiry: r.expiry} }

// Teardown implements Service: the clients close their own connections.
func (*PostgresRow) Teardown(context.Context) error { return nil }

// pgRowBinding is the Go binding of the row-lock targets: pgx, one
// connection per client, the conditional UPDATEs of the lock table.
type pgRowBinding struct{ expiry bool }

// NewClient returns a client with its own connection and owner name.
func (b pgRowBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	conn, node, err := pgNewConn(env)
	if err != nil {
		return nil, err
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	return &pgRowClient{
		conn:    conn,
		node:    node,
		owner:   fmt.Sprintf("p%d-%s", env.Process, hex.EncodeToString(nonce[:])),
		wait:    env.Plan.Wait,
		expiry:  b.expiry,
		ttlUS:   env.Plan.Lease.Microseconds(),
		created: map[string]bool{},
	}, nil
}

type pgRowClient struct {
	conn    *pgConn
	node    string
	owner   string
	wait    time.Duration
	expiry  bool
	ttlUS   int64
	created map[string]bool // keys whose row this client has made sure of
}

// Acquire makes sure the key's row exists, then runs the conditional
// UPDATE until it returns a row or the wait runs out.
func (c *pgRowClient) Acquire(ctx context.Context, key string) (Grant, error) {
	return pgAcquire(ctx, c.conn, key, c.wait, func(ctx context.Context, conn *pgx.Conn) (Grant, bool, error) {
		if !c.created[key] {
			// Creating an unlocked row changes no lock: any error here
			// is retried like a busy lock.
			if _, err := conn.Exec(ctx, pgRowCreate, key); err != nil {
				return Grant{}, false, pgHarmless{err}
			}
			c.created[key] = true
		}
		var rows pgx.Rows
		var err error
		if c.expiry {
			rows, err = conn.Query(ctx, pgRowExpiryAcquire, key, c.owner, c.ttlUS)
		} else {
			rows, err = conn.Query(ctx, pgRowAcquire, key, c.owner)
		}
		if err != nil {
			return Grant{}, false, err
		}
		tokens, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return Grant{}, false, err
		}
		if len(tokens) == 0 {
			return Grant{}, false, nil
		}
		t := tokens[0]
		return Grant{Token: &t}, true, nil
	})
}

// Release runs the owner-checked UPDATE; no row changed means this client
// did not hold the lock.
func (c *pgRowClient) Release(ctx context.Context, key string) error {
	conn, err := c.conn.get(ctx, time.Now().Add(c.wait))
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	q := pgRowRelease
	if c.expiry {
		q = pgRowExpiryRelease
	}
	tag, err := conn.Exec(ctx, q, key, c.owner)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("release %s: %w (no row owned by %s)", key, ErrNotHeld, c.owner)
	}
	return nil
}

func (c *pgRowClient) Node() string { return c.node }

// Abandon drops the connection without releasing: the row stays locked
// until it expires, or forever without expiry.
func (c *pgRowClient) Abandon() { c.conn.abandon() }

// Close closes the connection; a row lock outlives it.
func (c *pgRowClient) Close() error { return c.conn.close() }

// pgHarmless marks an error of a statement that cannot have taken a lock,
// whatever happened to it.
type pgHarmless struct{ err error }

func (e pgHarmless) Error() string { return "create lock row: " + e.err.Error() }
func (e pgHarmless) Unwrap() error { return e.err }
