package targets

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
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// Where and how the mariadb-getlock target runs its one server.
const (
	mariaBin     = "/usr/sbin/mariadbd"
	mariaData    = "/var/lib/lockstorm-mariadb"
	mariaLog     = "/var/log/lockstorm-mariadb.log"
	mariaSocket  = "/run/mysqld/mysqld.sock"
	mariaPort    = 3306
	mariaUser    = "lockstorm" // the clients' account, no password
	mariaProcess = "mariadbd"
	// mariaReadyTimeout bounds the wait for a started server to answer.
	mariaReadyTimeout = 60 * time.Second
)

// The options of mariadb-getlock.
var (
	mariaPoolOpt = option.Choice{Name: "mariadb.connection", Default: "pinned", Choices: []string{"pinned", "pooled"},
		Help: "pinned: every call of a client on one connection, as GET_LOCK needs; pooled: each call on whatever connection database/sql's pool hands out, as a naive binding does"}
	mariaKeepaliveOpt = option.Duration{Name: "mariadb.keepalive", Min: time.Second, Whole: time.Second,
		Help: "end the session of a client the server no longer hears from after this long: the server's wait_timeout (default 8 hours)"}
	mariaLifetimeOpt = option.Duration{Name: "mariadb.conn-lifetime", Min: 100 * time.Millisecond,
		Help: "pooled only: close a pooled connection this long after it was opened (database/sql's SetConnMaxLifetime, which go-sql-driver/mysql's README asks for; default: never)"}
)

// MariadbGetLock locks with MariaDB's named locks: GET_LOCK(name, timeout)
// and RELEASE_LOCK(name), through github.com/go-sql-driver/mysql. A named
// lock belongs to the session (the connection) that took it: it never
// expires while the session lives, and the server frees it, without a word
// to the holder, when the session ends (go-sql-driver/mysql issue 1138).
// So the binding keeps every call of a client on one connection, taken
// from the pool for the client's life. The variant mariadb.connection=
// pooled does what a naive binding does: each call goes to whatever
// connection the pool hands out, while other work of the program shares
// the pool. Named locks carry no fencing token.
type MariadbGetLock struct {
	cluster runtime.Cluster
	node    string
	addr    string
	log     *slog.Logger
}

// NewMariadbGetLock returns the mariadb-getlock target.
func NewMariadbGetLock() *MariadbGetLock { return &MariadbGetLock{} }

// Name implements Service.
func (*MariadbGetLock) Name() string { return "mariadb-getlock" }

// Describe implements Service: one server.
func (*MariadbGetLock) Describe() Descriptor {
	return Descriptor{
		Description:  "MariaDB 10.11 named locks (GET_LOCK/RELEASE_LOCK) on a pinned connection, or a pooled one: no expiry, freed when the session ends, no token",
		DefaultNodes: 1,
		Options:      option.Specs(mariaPoolOpt, mariaKeepaliveOpt, mariaLifetimeOpt),
		Ports:        map[string]int{"mysql": mariaPort},
	}
}

// Prepare implements Service: a named lock has no expiry. A connection
// lifetime is a setting of the pool, which the pinned connection is taken
// out of for the client's life.
func (*MariadbGetLock) Prepare(p *plan.Plan) (time.Duration, error) {
	if _, ok := mariaLifetimeOpt.Lookup(p.Options); ok && mariaPoolOpt.Get(p.Options) != "pooled" {
		return 0, option.Errorf("mariadb.conn-lifetime applies to mariadb.connection=pooled only: a pinned connection stays out of the pool for the client's life")
	}
	return 0, nil
}

// HasTokens implements Fencer: named locks have no token.
func (*MariadbGetLock) HasTokens() bool { return false }

// SessionBound implements SessionBound.
func (*MariadbGetLock) SessionBound() bool { return true }

// Binding implements Service.
func (*MariadbGetLock) Binding() Binding { return mariaBinding{} }

// ServerProcess implements Servers.
func (*MariadbGetLock) ServerProcess(string) string { return mariaProcess }

// LogPaths implements LogCollector.
func (m *MariadbGetLock) LogPaths() map[string][]string {
	return map[string][]string{m.node: {mariaLog}}
}

// Setup initialises a data directory on the first node, starts the server,
// creates the clients' account and waits until it answers over TCP. A
// named lock ends with its session only: the lease is zero.
func (m *MariadbGetLock) Setup(ctx context.Context, env *Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("mariadb: no cluster")
	}
	m.cluster, m.node, m.log = env.Cluster, p.Nodes[0].Name, env.Log
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	addr, err := p.Addr(m.node, mariaPort)
	if err != nil {
		return 0, err
	}
	m.addr = addr
	if len(p.Nodes) > 1 {
		m.log.Warn("mariadb: one server on the first node; the other nodes stay idle", "server", m.node, "nodes", len(p.Nodes))
	}
	conf := ""
	if d, ok := mariaKeepaliveOpt.Lookup(p.Options); ok {
		conf = fmt.Sprintf(" --wait-timeout=%d --interactive-timeout=%d", int(d.Seconds()), int(d.Seconds()))
		m.log.Info("mariadb: the server ends the session of a silent client", "after", d)
	}
	script := fmt.Sprintf(`set -e
mkdir -p %[1]s /run/mysqld
chown mysql:mysql %[1]s /run/mysqld
touch %[2]s && chown mysql:mysql %[2]s
mariadb-install-db --user=mysql --datadir=%[1]s --skip-test-db --auth-root-authentication-method=socket \
	>/tmp/lockstorm-install-db.log 2>&1 || { cat /tmp/lockstorm-install-db.log >&2; exit 1; }`, mariaData, mariaLog)
	if _, err := Sh(ctx, m.cluster, m.node, script); err != nil {
		return 0, fmt.Errorf("mariadb: install db: %w", err)
	}
	if err := m.start(ctx, conf); err != nil {
		return 0, err
	}
	const account = `CREATE USER IF NOT EXISTS '` + mariaUser + `'@'%'; GRANT ALL ON *.* TO '` + mariaUser + `'@'%';`
	if _, err := Sh(ctx, m.cluster, m.node, "mariadb --socket="+mariaSocket+` -e "`+account+`"`); err != nil {
		return 0, fmt.Errorf("mariadb: create the clients' account: %w", err)
	}
	return 0, m.waitReady(ctx)
}

// start launches the server and waits until its socket answers.
func (m *MariadbGetLock) start(ctx context.Context, conf string) error {
	d := Daemon{
		Name: mariaProcess,
		Cmd: fmt.Sprintf("%s --user=mysql --datadir=%s --socket=%s --port=%d --bind-address=0.0.0.0 --skip-name-resolve --log-error=%s%s",
			mariaBin, mariaData, mariaSocket, mariaPort, mariaLog, conf),
		Log: mariaLog,
	}
	if err := StartDaemon(ctx, m.cluster, m.node, d); err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	err := wait.For(ctx, mariaReadyTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		_, err := Sh(ctx, m.cluster, m.node, "mariadb --socket="+mariaSocket+" -e 'SELECT 1' >/dev/null")
		return err
	})
	if err != nil {
		return fmt.Errorf("mariadb on %s did not start: %w", m.node, err)
	}
	return nil
}

// StartServer implements Servers: it starts the server again after a kill
// and waits until it answers.
func (m *MariadbGetLock) StartServer(ctx context.Context, node string) error {
	if node != m.node {
		return nil
	}
	if err := m.start(ctx, ""); err != nil {
		return err
	}
	return m.waitReady(ctx)
}

// waitReady polls SELECT 1 over TCP, as the clients connect.
func (m *MariadbGetLock) waitReady(ctx context.Context) error {
	err := wait.For(ctx, mariaReadyTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		db, err := sql.Open("mysql", mariaDSN(m.addr))
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
	if err != nil {
		return fmt.Errorf("mariadb on %s over TCP: %w", m.node, err)
	}
	return nil
}

// Teardown implements Service: the clients close their own sessions.
func (*MariadbGetLock) Teardown(context.Context) error { return nil }

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
func (mariaBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
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
func (c *mariaClient) Acquire(ctx context.Context, key string) (Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, err := c.on(ctx)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: connect: %v", ErrNotAcquired, err)
	}
	var got sql.NullInt64
	err = q.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", mariaLockName(key), c.wait.Seconds()).Scan(&got)
	switch {
	case err != nil:
		c.dropConn()
		return Grant{}, fmt.Errorf("acquire %s: %w", key, err)
	case !got.Valid:
		c.dropConn()
		return Grant{}, fmt.Errorf("acquire %s: GET_LOCK returned NULL (an error on the server)", key)
	case got.Int64 == 0:
		return Grant{}, fmt.Errorf("%w: %s busy for %s", ErrNotAcquired, key, c.wait)
	}
	return Grant{}, nil
}

// Release calls RELEASE_LOCK: 1 released; 0 the lock is held by another
// session; NULL no such lock (the session that held it ended). Both of the
// last are ErrNotHeld.
func (c *mariaClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, err := c.on(ctx)
	if err != nil {
		return fmt.Errorf("release %s: %w: the session that took it is gone", key, ErrNotHeld)
	}
	var res sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", mariaLockName(key)).Scan(&res); err != nil {
		c.dropConn()
		return fmt.Errorf("release %s: %w", key, err)
	}
	switch {
	case !res.Valid:
		return fmt.Errorf("%w: RELEASE_LOCK returned NULL: no session holds %s", ErrNotHeld, key)
	case res.Int64 == 0:
		return fmt.Errorf("%w: RELEASE_LOCK returned 0: another session holds %s", ErrNotHeld, key)
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

// WhyNoClockShim implements Unshimmed.
func (*MariadbGetLock) WhyNoClockShim() string {
	return "hold a named lock for as long as its session lives, on no clock, so a clock fault has nothing to move"
}
