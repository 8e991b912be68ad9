// Package mariadb is the mariadb-getlock target: MariaDB's named locks
// (GET_LOCK, RELEASE_LOCK) through go-sql-driver/mysql. The server is in
// server.go, the Go binding in client.go.
package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
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

// Service is the mariadb-getlock target: it locks with MariaDB's named
// locks, GET_LOCK(name, timeout) and RELEASE_LOCK(name), through
// github.com/go-sql-driver/mysql. A named
// lock belongs to the session (the connection) that took it: it never
// expires while the session lives, and the server frees it, without a word
// to the holder, when the session ends (go-sql-driver/mysql issue 1138).
// So the binding keeps every call of a client on one connection, taken
// from the pool for the client's life. The variant mariadb.connection=
// pooled does what a naive binding does: each call goes to whatever
// connection the pool hands out, while other work of the program shares
// the pool. Named locks carry no fencing token.
type Service struct {
	cluster runtime.Cluster
	node    string
	addr    string
	log     *slog.Logger
}

// New returns the mariadb-getlock target.
func New() *Service { return &Service{} }

// Name implements targets.Service.
func (*Service) Name() string { return "mariadb-getlock" }

// Describe implements targets.Service: one server.
func (*Service) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "MariaDB 10.11 named locks (GET_LOCK/RELEASE_LOCK) on a pinned connection, or a pooled one: no expiry, freed when the session ends, no token",
		DefaultNodes: 1,
		Options:      option.Specs(mariaPoolOpt, mariaKeepaliveOpt, mariaLifetimeOpt),
		Ports:        map[string]int{"mysql": mariaPort},
	}
}

// Prepare implements targets.Service: a named lock has no expiry. A connection
// lifetime is a setting of the pool, which the pinned connection is taken
// out of for the client's life.
func (*Service) Prepare(p *plan.Plan) (time.Duration, error) {
	if _, ok := mariaLifetimeOpt.Lookup(p.Options); ok && mariaPoolOpt.Get(p.Options) != "pooled" {
		return 0, option.Errorf("mariadb.conn-lifetime applies to mariadb.connection=pooled only: a pinned connection stays out of the pool for the client's life")
	}
	return 0, nil
}

// HasTokens implements targets.Fencer: named locks have no token.
func (*Service) HasTokens() bool { return false }

// SessionBound implements targets.SessionBound.
func (*Service) SessionBound() bool { return true }

// Binding implements targets.Service.
func (*Service) Binding() targets.Binding { return mariaBinding{} }

// ServerProcess implements targets.Servers.
func (*Service) ServerProcess(string) string { return mariaProcess }

// LogPaths implements targets.LogCollector.
func (m *Service) LogPaths() map[string][]string {
	return map[string][]string{m.node: {mariaLog}}
}

// Setup initialises a data directory on the first node, starts the server,
// creates the clients' account and waits until it answers over TCP. A
// named lock ends with its session only: the lease is zero.
func (m *Service) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
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
	if _, err := targets.Sh(ctx, m.cluster, m.node, script); err != nil {
		return 0, fmt.Errorf("mariadb: install db: %w", err)
	}
	if err := m.start(ctx, conf); err != nil {
		return 0, err
	}
	const account = `CREATE USER IF NOT EXISTS '` + mariaUser + `'@'%'; GRANT ALL ON *.* TO '` + mariaUser + `'@'%';`
	if _, err := targets.Sh(ctx, m.cluster, m.node, "mariadb --socket="+mariaSocket+` -e "`+account+`"`); err != nil {
		return 0, fmt.Errorf("mariadb: create the clients' account: %w", err)
	}
	return 0, m.waitReady(ctx)
}

// start launches the server and waits until its socket answers.
func (m *Service) start(ctx context.Context, conf string) error {
	d := targets.Daemon{
		Name: mariaProcess,
		Cmd: fmt.Sprintf("%s --user=mysql --datadir=%s --socket=%s --port=%d --bind-address=0.0.0.0 --skip-name-resolve --log-error=%s%s",
			mariaBin, mariaData, mariaSocket, mariaPort, mariaLog, conf),
		Log: mariaLog,
	}
	if err := targets.StartDaemon(ctx, m.cluster, m.node, d); err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	err := wait.For(ctx, mariaReadyTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		_, err := targets.Sh(ctx, m.cluster, m.node, "mariadb --socket="+mariaSocket+" -e 'SELECT 1' >/dev/null")
		return err
	})
	if err != nil {
		return fmt.Errorf("mariadb on %s did not start: %w", m.node, err)
	}
	return nil
}

// StartServer implements targets.Servers: it starts the server again after a
// kill and waits until it answers.
func (m *Service) StartServer(ctx context.Context, node string) error {
	if node != m.node {
		return nil
	}
	if err := m.start(ctx, ""); err != nil {
		return err
	}
	return m.waitReady(ctx)
}

// waitReady polls SELECT 1 over TCP, as the clients connect.
func (m *Service) waitReady(ctx context.Context) error {
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

// Teardown implements targets.Service: the clients close their own sessions.
func (*Service) Teardown(context.Context) error { return nil }

// WhyNoClockShim implements targets.Unshimmed.
func (*Service) WhyNoClockShim() string {
	return "hold a named lock for as long as its session lives, on no clock, so a clock fault has nothing to move"
}
