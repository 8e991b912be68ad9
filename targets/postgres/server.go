// Package postgres holds the PostgreSQL targets: postgres-advisory
// (session advisory locks), postgres-row (a naive row lock) and
// postgres-row-expiry (a row lock with an expiry column). They share one
// PostgreSQL 15 server (server.go), a client's session (conn.go) and the
// contention workload's store (store.go); each has its service in
// <target>.go and its Go binding in <target>_client.go.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Where and how the PostgreSQL targets run their one server.
const (
	// pgBin holds initdb, postgres and pg_ctl in the node image.
	pgBin = "/usr/lib/postgresql/15/bin"
	// pgData is the data directory, owned by the postgres user.
	pgData = "/var/lib/lockstorm-pg"
	// pgLog receives the server's standard error: its whole log.
	pgLog = "/var/log/lockstorm-postgres.log"
	// pgPort is the server's TCP port on the node's IP.
	pgPort = 5432
	// pgUser is both the operating-system user that runs the server and
	// the database superuser the clients log in as (trust authentication).
	pgUser = "postgres"
	// pgDatabase holds the targets' schema: the one initdb makes.
	pgDatabase = "postgres"
	// pgProcess is the name of every server process (postmaster and
	// backends), as pgrep -x sees it.
	pgProcess = "postgres"
	// pgReadyTimeout bounds the wait for a started server to answer.
	pgReadyTimeout = 60 * time.Second
)

// pgConfig is appended to the postgresql.conf that initdb writes. Durability
// stays on (fsync, synchronous_commit): a committed row lock and its token
// survive a kill of the server.
const pgConfig = `
# lockstorm
listen_addresses = '*'
port = 5432
max_connections = 200
shared_buffers = 16MB
unix_socket_directories = '/var/run/postgresql'
fsync = on
synchronous_commit = on
recovery_init_sync_method = syncfs
log_line_prefix = '%m [%p] %q%u@%d %r '
log_connections = off
log_disconnections = off
`

// pgHBA lets every user in from anywhere without a password: the server is
// reachable only on the run's private Docker network.
const pgHBA = `local all all trust
host all all 0.0.0.0/0 trust
host all all ::/0 trust
`

// pgServer is what the three PostgreSQL targets share: one server on the
// first node, started with the clock shim, and the connection settings of
// their clients.
type pgServer struct {
	cluster runtime.Cluster
	node    string
	addr    string
	log     *slog.Logger
}

// setup initialises a data directory on the first node, starts the server
// there, waits until it answers SELECT 1, and runs schema.
func (s *pgServer) setup(ctx context.Context, env *targets.Env, schema string) error {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return fmt.Errorf("postgres: no cluster")
	}
	s.cluster, s.node = env.Cluster, p.Nodes[0].Name
	s.log = env.Log
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	addr, err := p.Addr(s.node, pgPort)
	if err != nil {
		return err
	}
	s.addr = addr
	if len(p.Nodes) > 1 {
		s.log.Warn("postgres: one server on the first node; the other nodes stay idle", "server", s.node, "nodes", len(p.Nodes))
	}
	conf := pgConfig
	if d, ok := pgKeepaliveOpt.Lookup(p.Options); ok {
		conf += pgKeepalive(d)
		s.log.Info("postgres: the server ends the session of a silent client", "after", d)
	}
	begin := time.Now()
	if err := s.initdb(ctx, conf); err != nil {
		return err
	}
	s.log.Debug("postgres: initdb done", "node", s.node, "took", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	if err := s.start(ctx); err != nil {
		return err
	}
	s.log.Debug("postgres: server ready", "addr", s.addr, "took", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	if err := s.createSchema(ctx, schema); err != nil {
		return err
	}
	s.log.Debug("postgres: schema created", "database", pgDatabase, "took", time.Since(begin).Round(time.Millisecond))
	return nil
}

// initdb creates the data directory as the postgres user and writes the
// server's settings, conf, in one exec.
func (s *pgServer) initdb(ctx context.Context, conf string) error {
	// -N skips initdb's own fsync: the files reach the page cache, which a
	// killed container shares with the host, and the server fsyncs from
	// then on.
	script := fmt.Sprintf(`set -e
mkdir -p %[1]s /var/run/postgresql
chown %[2]s:%[2]s %[1]s /var/run/postgresql
chmod 700 %[1]s
touch %[3]s && chown %[2]s:%[2]s %[3]s
runuser -u %[2]s -- %[4]s/initdb -D %[1]s -U %[2]s --auth=trust -E UTF8 --locale=C.UTF-8 -N \
	</dev/null >/tmp/lockstorm-initdb.log 2>&1 || { cat /tmp/lockstorm-initdb.log >&2; exit 1; }
cat >>%[1]s/postgresql.conf <<'EOF'
%[5]sEOF
cat >%[1]s/pg_hba.conf <<'EOF'
%[6]sEOF
chown %[2]s:%[2]s %[1]s/postgresql.conf %[1]s/pg_hba.conf
`, pgData, pgUser, pgLog, pgBin, conf, pgHBA)
	if _, err := targets.Sh(ctx, s.cluster, s.node, script); err != nil {
		return fmt.Errorf("postgres: initdb: %w", err)
	}
	return nil
}

// start launches the postmaster with the clock shim and waits until it
// answers queries.
func (s *pgServer) start(ctx context.Context) error {
	d := targets.Daemon{
		Name: pgProcess,
		Cmd:  fmt.Sprintf("%s/postgres -D %s", pgBin, pgData),
		Log:  pgLog,
		Shim: true,
		User: pgUser,
	}
	if err := targets.StartDaemon(ctx, s.cluster, s.node, d); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return s.waitReady(ctx)
}

// waitReady polls SELECT 1 until it works.
func (s *pgServer) waitReady(ctx context.Context) error {
	err := wait.For(ctx, pgReadyTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		conn, err := s.connect(ctx, pgDatabase, "lockstorm-setup")
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var one int
		return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
	if err != nil {
		return fmt.Errorf("postgres on %s: %w", s.node, err)
	}
	return nil
}

// createSchema runs schema in the database.
func (s *pgServer) createSchema(ctx context.Context, schema string) error {
	if schema == "" {
		return nil
	}
	conn, err := s.connect(ctx, pgDatabase, "lockstorm-setup")
	if err != nil {
		return fmt.Errorf("postgres: connect for schema: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, schema); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	return nil
}

// connect opens one connection to the server.
func (s *pgServer) connect(ctx context.Context, db, app string) (*pgx.Conn, error) {
	if s.addr == "" {
		return nil, fmt.Errorf("postgres: not set up")
	}
	return pgConnect(ctx, s.addr, db, app)
}

// pgConnect opens one connection to the server at addr, as the real
// client library does it.
func pgConnect(ctx context.Context, addr, db, app string) (*pgx.Conn, error) {
	host, port, _ := strings.Cut(addr, ":")
	dsn := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable application_name=%s",
		host, port, pgUser, db, app)
	return pgx.Connect(ctx, dsn)
}

// pgKeepaliveOpt makes the server notice a client it no longer hears from
// within the given time. Without it the kernel's TCP keepalive applies: 2
// hours of silence (tcp_keepalive_time 7200 s), then 9 probes 75 s apart,
// so a server takes over 2 h 11 min to end the session of a client cut off
// by a partition, and to free its session-bound locks.
var pgKeepaliveOpt = option.Duration{Name: "postgres.keepalive", Min: 3 * time.Second, Whole: time.Second,
	Help: "end the session of a silent client after this long: TCP keepalive idle time, probes and tcp_user_timeout of the server (default: the kernel's, over 2 hours)"}

// pgDescriptor is the Descriptor of the PostgreSQL targets: one server,
// and its options.
func pgDescriptor(desc string) targets.Descriptor {
	return targets.Descriptor{Description: desc, DefaultNodes: 1, Options: option.Specs(pgKeepaliveOpt),
		Ports: map[string]int{"postgres": pgPort}}
}

// pgKeepalive returns the server settings that end a silent client's
// session within d: keepalive probes start after idle, repeat every
// interval and give up after two, idle + 2·interval = d; and data that
// stays unacknowledged for d ends the connection too.
func pgKeepalive(d time.Duration) string {
	secs := int(d / time.Second)
	interval := max(secs/4, 1)
	idle := secs - 2*interval
	return fmt.Sprintf("tcp_keepalives_idle = %d\ntcp_keepalives_interval = %d\ntcp_keepalives_count = 2\ntcp_user_timeout = %d\n",
		idle, interval, d.Milliseconds())
}

// ServerProcess implements targets.Servers: the postmaster and every backend
// are named postgres, so a pause stops them all.
func (s *pgServer) ServerProcess(string) string { return pgProcess }

// StartServer implements targets.Servers: it starts the server again after a
// kill, once the old processes are gone, and waits until it answers.
func (s *pgServer) StartServer(ctx context.Context, node string) error {
	if node != s.node {
		return nil // no server runs there
	}
	// Backends exit on their own once their postmaster is gone; a new
	// postmaster refuses to start while they still hold the old shared
	// memory, so wait for them, then kill whatever is left.
	err := wait.For(ctx, 5*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		pids, err := targets.ServerPIDs(ctx, s.cluster, node, pgProcess)
		if err != nil {
			return err
		}
		if len(pids) > 0 {
			return fmt.Errorf("%d postgres processes still running", len(pids))
		}
		return nil
	})
	if err != nil {
		pids, perr := targets.ServerPIDs(ctx, s.cluster, node, pgProcess)
		if perr != nil {
			return fmt.Errorf("postgres: restart on %s: %w", node, perr)
		}
		if len(pids) > 0 {
			s.log.Warn("postgres: killing leftover server processes", "node", node, "pids", pids)
			if _, err := targets.Sh(ctx, s.cluster, node, "kill -9 "+strings.Join(pids, " ")+"; sleep 0.2"); err != nil {
				return fmt.Errorf("postgres: kill leftovers on %s: %w", node, err)
			}
		}
	}
	if _, err := targets.Sh(ctx, s.cluster, node, "rm -f "+pgData+"/postmaster.pid"); err != nil {
		return fmt.Errorf("postgres: remove stale postmaster.pid on %s: %w", node, err)
	}
	return s.start(ctx)
}

// Primaries implements targets.Primaries: the one server.
func (s *pgServer) Primaries(context.Context) ([]string, error) {
	if s.node == "" {
		return nil, nil
	}
	return []string{s.node}, nil
}

// ClockShimmed implements targets.ClockShimmed: postgres reads the wall clock
// (now(), clock_timestamp()) through libc, so the shim shifts it.
func (*pgServer) ClockShimmed() bool { return true }

// LogPaths implements targets.LogCollector.
func (s *pgServer) LogPaths() map[string][]string {
	if s.node == "" {
		return nil
	}
	return map[string][]string{s.node: {pgLog}}
}

// The powers the PostgreSQL targets offer beyond targets.Service.
var (
	_ targets.Servers      = (*Advisory)(nil)
	_ targets.Primaries    = (*Advisory)(nil)
	_ targets.ClockShimmed = (*Advisory)(nil)
	_ targets.LogCollector = (*Advisory)(nil)
	_ targets.Fencer       = (*Advisory)(nil)
	_ targets.Servers      = (*Row)(nil)
	_ targets.Primaries    = (*Row)(nil)
	_ targets.ClockShimmed = (*Row)(nil)
	_ targets.LogCollector = (*Row)(nil)
	_ targets.Fencer       = (*Row)(nil)
)
