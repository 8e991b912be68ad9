package postgres

import (
	"context"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// Advisory locks with PostgreSQL's session-level advisory locks:
// pg_try_advisory_lock on a 64-bit hash of the key, retried until the wait
// runs out, and pg_advisory_unlock. The lock lives exactly as long as the
// client's session (its TCP connection): it never expires while the session
// lives, and it vanishes, without the holder being told, when the server
// ends the session (a crash of the server, a connection it found dead).
// Advisory locks carry no fencing token.
type Advisory struct {
	pgServer
}

// NewAdvisory returns the postgres-advisory target.
func NewAdvisory() *Advisory { return &Advisory{} }

// Name implements targets.Service.
func (*Advisory) Name() string { return "postgres-advisory" }

// Describe implements targets.Service: one server.
func (*Advisory) Describe() targets.Descriptor {
	return pgDescriptor("PostgreSQL 15 session advisory locks (pg_try_advisory_lock): no expiry, freed when the session ends, no token")
}

// Prepare implements targets.Service: an advisory lock has no expiry; it ends
// with the session.
func (*Advisory) Prepare(*plan.Plan) (time.Duration, error) { return 0, nil }

// Setup starts the server on the first node; advisory locks need no
// schema. An advisory lock has no expiry, it ends with the session: the
// lease is zero.
func (a *Advisory) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	return 0, a.setup(ctx, env, "")
}

// HasTokens implements targets.Fencer: advisory locks have no token. (A
// sequence read in the same session could number grants, but nothing in the
// lock would tie that number to the lock's life.)
func (*Advisory) HasTokens() bool { return false }

// Binding implements targets.Service.
func (*Advisory) Binding() targets.Binding { return pgAdvisoryBinding{} }

// SessionBound implements targets.SessionBound: an advisory lock belongs to the
// session that took it, and ends with it.
func (*Advisory) SessionBound() bool { return true }

// Teardown implements targets.Service: the clients close their own sessions.
func (*Advisory) Teardown(context.Context) error { return nil }
