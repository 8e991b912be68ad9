package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/targets"
)

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

// pgRowBinding is the Go binding of the row-lock targets: pgx, one
// connection per client, the conditional UPDATEs of the lock table.
type pgRowBinding struct{ expiry bool }

// NewClient returns a client with its own connection and owner name.
func (b pgRowBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
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
func (c *pgRowClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	return pgAcquire(ctx, c.conn, key, c.wait, func(ctx context.Context, conn *pgx.Conn) (targets.Grant, bool, error) {
		if !c.created[key] {
			// Creating an unlocked row changes no lock: any error here
			// is retried like a busy lock.
			if _, err := conn.Exec(ctx, pgRowCreate, key); err != nil {
				return targets.Grant{}, false, pgHarmless{err}
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
			return targets.Grant{}, false, err
		}
		tokens, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return targets.Grant{}, false, err
		}
		if len(tokens) == 0 {
			return targets.Grant{}, false, nil
		}
		t := tokens[0]
		return targets.Grant{Token: &t}, true, nil
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
		return fmt.Errorf("release %s: %w (no row owned by %s)", key, targets.ErrNotHeld, c.owner)
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
