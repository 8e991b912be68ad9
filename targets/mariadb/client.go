package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// mariaDSN is the data source name of the clients' account at addr.
func mariaDSN(addr string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = mariaUser, "tcp", addr
	cfg.Timeout = 2 * time.Second
	// Arguments go into the statement text: one round trip per call, not
	// a prepare, an execute and a close.
	cfg.InterpolateParams = true
	return cfg.FormatDSN()
}

// mariaBinding is the Go binding of mariadb-getlock.
type mariaBinding struct{}

// NewClient returns a client of the one server, with its own pool.
func (mariaBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	if len(p.Nodes) == 0 {
		return nil, errors.New("mariadb: no nodes")
	}
	node := p.Nodes[0].Name
	addr, err := p.Addr(node, mariaPort)
	if err != nil {
		return nil, fmt.Errorf("mariadb: %w", err)
	}
	db, err := sql.Open("mysql", mariaDSN(addr))
	if err != nil {
		return nil, fmt.Errorf("mariadb: %w", err)
	}
	c := &mariaClient{db: db, node: node, wait: p.Wait, pooled: mariaPoolOpt.Get(p.Options) == "pooled", log: env.Log}
	if c.pooled {
		// The rest of the program uses the same pool: a query now and
		// then on another goroutine, as a web handler would, so that
		// the pool holds more than one connection.
		db.SetMaxIdleConns(4)
		if d, ok := mariaLifetimeOpt.Lookup(p.Options); ok {
			// The pool closes a connection this old when it comes
			// back, and with it the session and any lock it holds.
			db.SetConnMaxLifetime(d)
		}
		ctx, cancel := context.WithCancel(context.Background())
		c.stopOther = cancel
		c.otherDone = make(chan struct{})
		go c.otherWork(ctx)
	}
	return c, nil
}

// mariaClient is one client: a pool and, pinned, the connection it locks
// on.
type mariaClient struct {
	db     *sql.DB
	node   string
	wait   time.Duration
	pooled bool
	log    *slog.Logger

	mu   sync.Mutex
	conn *sql.Conn // the pinned connection; nil until the first call
	done bool

	stopOther context.CancelFunc
	otherDone chan struct{}
}

// otherWork runs a short query on the shared pool every few milliseconds
// until ctx ends (the pooled variant only).
func (c *mariaClient) otherWork(ctx context.Context) {
	defer close(c.otherDone)
	for wait.Sleep(ctx, 3*time.Millisecond) {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		var one int
		_ = c.db.QueryRowContext(qctx, "SELECT SLEEP(0.005), 1").Scan(new(any), &one)
		cancel()
	}
}

// querier is what a lock call runs on: the pinned connection, or the pool.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// on returns what the next call runs on, connecting the pinned connection
// if there is none. Connecting changes no lock.
func (c *mariaClient) on(ctx context.Context) (querier, error) {
	if c.done {
		return nil, errors.New("mariadb client closed")
	}
	if c.pooled {
		return c.db, nil
	}
	if c.conn != nil {
		return c.conn, nil
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return conn, nil
}

// dropConn gives up the pinned connection after an error: its session,
// and any lock it holds, ends when the server notices.
func (c *mariaClient) dropConn() {
	if c.conn != nil {
		// ErrBadConn from Raw makes the pool discard the connection.
		_ = c.conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = c.conn.Close()
		c.conn = nil
	}
}

// Acquire calls GET_LOCK with the wait budget as its timeout: 1 is a
// grant, 0 a timeout (certain), NULL an error on the server (unknown).
func (c *mariaClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, err := c.on(ctx)
	if err != nil {
		return targets.Grant{}, fmt.Errorf("%w: connect: %v", targets.ErrNotAcquired, err)
	}
	var got sql.NullInt64
	err = q.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", mariaLockName(key), c.wait.Seconds()).Scan(&got)
	switch {
	case err != nil:
		c.dropConn()
		return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
	case !got.Valid:
		c.dropConn()
		return targets.Grant{}, fmt.Errorf("acquire %s: GET_LOCK returned NULL (an error on the server)", key)
	case got.Int64 == 0:
		return targets.Grant{}, fmt.Errorf("%w: %s busy for %s", targets.ErrNotAcquired, key, c.wait)
	}
	return targets.Grant{}, nil
}

// Release calls RELEASE_LOCK: 1 released; 0 the lock is held by another
// session; NULL no such lock (the session that held it ended). Both of the
// last are ErrNotHeld.
func (c *mariaClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, err := c.on(ctx)
	if err != nil {
		return fmt.Errorf("release %s: %w: the session that took it is gone", key, targets.ErrNotHeld)
	}
	var res sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", mariaLockName(key)).Scan(&res); err != nil {
		c.dropConn()
		return fmt.Errorf("release %s: %w", key, err)
	}
	switch {
	case !res.Valid:
		return fmt.Errorf("%w: RELEASE_LOCK returned NULL: no session holds %s", targets.ErrNotHeld, key)
	case res.Int64 == 0:
		return fmt.Errorf("%w: RELEASE_LOCK returned 0: another session holds %s", targets.ErrNotHeld, key)
	}
	return nil
}

// mariaLockName is the named lock of a lock key (at most 64 characters).
func mariaLockName(key string) string {
	name := "lockstorm:" + key
	if len(name) > 64 {
		name = name[:64]
	}
	return strings.ToValidUTF8(name, "_")
}

func (c *mariaClient) Node() string { return c.node }

// Abandon closes every connection under the client, without releasing:
// the server frees the locks when it reads the end of the connections.
func (c *mariaClient) Abandon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.close()
}

// Close closes the pool; the sessions' locks go with them.
func (c *mariaClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.close()
}

func (c *mariaClient) close() error {
	if c.done {
		return nil
	}
	c.done = true
	if c.stopOther != nil {
		c.stopOther()
		<-c.otherDone
	}
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	return c.db.Close()
}
