package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/targets"
)

// The store of the PostgreSQL targets, for the contention workload: each
// item's stock in a row.

// pgStockSchema is the stock table, made by the first Put.
const pgStockSchema = `CREATE TABLE IF NOT EXISTS lockstorm_stock (item text PRIMARY KEY, n bigint NOT NULL)`

// pgStore keeps each item's stock in a row; its version is the stock
// itself, which only falls (see redisStore).
type pgStore struct{ conn *pgConn }

// NewStore implements targets.Stocker: one lazily made connection to the
// server.
func (s *pgServer) NewStore(_ context.Context, env targets.ClientEnv) (targets.Store, error) {
	c, _, err := pgNewConn(env)
	if err != nil {
		return nil, err
	}
	c.app = fmt.Sprintf("lockstorm-stock-p%d", env.Process)
	return pgStore{c}, nil
}

// Decrements implements targets.Stocker: UPDATE ... SET n = n - 1 WHERE n > 0.
func (*pgServer) Decrements() bool { return true }

// exec runs sql on the store's connection, marking errors that prove it
// had no effect.
func (s pgStore) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	c, err := s.conn.get(ctx, stockDeadline(ctx))
	if err != nil {
		return 0, targets.NoEffect(err)
	}
	tag, err := c.Exec(ctx, sql, args...)
	if err != nil {
		return 0, pgErr(err)
	}
	return tag.RowsAffected(), nil
}

func pgErr(err error) error {
	if pgNoEffect(err) {
		return targets.NoEffect(err)
	}
	return err
}

// stockDeadline is how long a store call may take to connect.
func stockDeadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(5 * time.Second)
}

func (s pgStore) Put(ctx context.Context, key string, n int64) error {
	if _, err := s.exec(ctx, pgStockSchema); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO lockstorm_stock (item, n) VALUES ($1, $2)
		ON CONFLICT (item) DO UPDATE SET n = EXCLUDED.n`, key, n)
	return err
}

func (s pgStore) Get(ctx context.Context, key string) (int64, int64, error) {
	c, err := s.conn.get(ctx, stockDeadline(ctx))
	if err != nil {
		return 0, 0, targets.NoEffect(err)
	}
	var n int64
	if err := c.QueryRow(ctx, `SELECT n FROM lockstorm_stock WHERE item = $1`, key).Scan(&n); err != nil {
		return 0, 0, pgErr(err)
	}
	return n, n, nil
}

func (s pgStore) Set(ctx context.Context, key string, n int64) error {
	_, err := s.exec(ctx, `UPDATE lockstorm_stock SET n = $2 WHERE item = $1`, key, n)
	return err
}

func (s pgStore) SetIf(ctx context.Context, key string, n, version int64) error {
	rows, err := s.exec(ctx, `UPDATE lockstorm_stock SET n = $2 WHERE item = $1 AND n = $3`, key, n, version)
	switch {
	case err != nil:
		return err
	case rows == 0:
		return targets.ErrConflict
	}
	return nil
}

func (s pgStore) Decrement(ctx context.Context, key string) (int64, error) {
	c, err := s.conn.get(ctx, stockDeadline(ctx))
	if err != nil {
		return 0, targets.NoEffect(err)
	}
	var n int64
	err = c.QueryRow(ctx, `UPDATE lockstorm_stock SET n = n - 1 WHERE item = $1 AND n > 0 RETURNING n`, key).Scan(&n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, targets.ErrOutOfStock
	case err != nil:
		return 0, pgErr(err)
	}
	return n, nil
}

func (s pgStore) Close() error {
	if c := s.conn.current(); c != nil {
		return c.Close(context.Background())
	}
	return nil
}
