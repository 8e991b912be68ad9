package postgres

import (
	"context"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
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

// Row is a lock kept in a table row, taken with a conditional
// UPDATE: the naive database lock of the chapter, and postgres-row-expiry,
// the same with an expiry time. The row's counter is bumped on every grant,
// in the same statement, and is a real fencing token: it only grows, and it
// survives a restart of the server. Without expiry, a holder that crashes
// leaves the row locked forever.
type Row struct {
	pgServer
	expiry bool
}

// NewRow returns the postgres-row target: the naive row lock, which
// never expires.
func NewRow() *Row { return &Row{} }

// NewRowExpiry returns the postgres-row-expiry target: the row
// lock with an expires_at column, judged by the server's clock.
func NewRowExpiry() *Row { return &Row{expiry: true} }

// Name implements targets.Service.
func (r *Row) Name() string {
	if r.expiry {
		return "postgres-row-expiry"
	}
	return "postgres-row"
}

// Describe implements targets.Service: one server.
func (r *Row) Describe() targets.Descriptor {
	if r.expiry {
		return pgDescriptor("PostgreSQL 15 row lock with expires_at (server clock) and a row counter as fencing token")
	}
	return pgDescriptor("PostgreSQL 15 naive row lock (UPDATE ... WHERE locked=false): token counter, no expiry, stuck if a holder crashes")
}

// Prepare implements targets.Service: zero (never) for the naive lock; the TTL
// written into expires_at for the expiring one.
func (r *Row) Prepare(p *plan.Plan) (time.Duration, error) {
	if r.expiry {
		return p.TTL, nil
	}
	return 0, nil
}

// Setup starts the server on the first node and creates the lock table.
// The lease is zero (never) for the naive lock, and the TTL written into
// expires_at for the expiring one: the expiry is computed from the
// server's clock when the UPDATE runs, after the acquire was sent.
func (r *Row) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	if err := r.setup(ctx, env, pgRowSchema); err != nil {
		return 0, err
	}
	if r.expiry {
		return env.Plan.TTL, nil
	}
	return 0, nil
}

// HasTokens implements targets.Fencer: the row's counter is the token.
func (*Row) HasTokens() bool { return true }

// Expiry implements targets.Expirer: with the expiry column a row lock is free
// again a fixed TTL after it was taken; without it, never.
func (r *Row) Expiry() targets.Expiry {
	if r.expiry {
		return targets.FixedExpiry
	}
	return targets.NoExpiry
}

// Binding implements targets.Service.
func (r *Row) Binding() targets.Binding { return pgRowBinding{expiry: r.expiry} }

// Teardown implements targets.Service: the clients close their own connections.
func (*Row) Teardown(context.Context) error { return nil }
