// Package redis holds the Redis targets: redis (SET NX PX on one server),
// redlock (Redlock over independent servers, through redsync) and
// redis-sentinel (a primary, its replicas and Sentinel failover). They
// share the redis-server setup (server.go) and the go-redis settings
// (conn.go); each has its service in <target>.go and its Go binding in
// <target>_client.go (the redis target's script client serves
// redis-sentinel too), and redis keeps the contention workload's store
// (store.go).
package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/serverbin"
)

// Where the Redis targets keep their files inside a node, and the ports
// they listen on.
const (
	redisPort         = 6379
	redisSentinelPort = 26379
	redisDir          = "/var/lib/lockstorm-redis"
	redisLogDir       = "/var/log/lockstorm-redis"
	redisConfPath     = redisDir + "/redis.conf"
	redisLogPath      = redisLogDir + "/redis.log"
	redisProcess      = "redis-server"
	// redisIOTimeout bounds one socket read or write of a client: a paused
	// or partitioned server makes the call indeterminate after this long.
	redisIOTimeout = time.Second
	// redisReadyTimeout bounds how long Setup and StartServer wait for a
	// server to answer PING.
	redisReadyTimeout = 30 * time.Second
)

// Persistence modes of the Redis targets (--opt <target>.persistence).
const (
	redisPersistNone = "none"
	redisPersistAOF  = "aof"
	redisPersistRDB  = "rdb"
)

// redisServer is the redis-server executable the Redis targets run:
// Debian's, or the user's own (redis.binary), which is installed under
// redis-sentinel's name too (Redis runs as a sentinel under that name).
var redisServer = &serverbin.Server{
	Name: "redis-server", Owner: "redis", Aliases: []string{"redis-sentinel"},
	VersionArgs: []string{"--version"},
}

// redisProvision brings the redis-server that p's options choose (the
// Redis targets' targets.Provisioner).
func redisProvision(ctx context.Context, p *plan.Plan, say func(string)) (string, error) {
	return redisServer.Provide(ctx, p, say)
}

// redisInstall installs the chosen redis-server on nodes before any
// starts; "" keeps Debian's.
func redisInstall(ctx context.Context, env *targets.Env, nodes []string, bin string) error {
	said, err := redisServer.Install(ctx, env.Cluster, nodes, bin)
	if err == nil && said != "" && env.Log != nil {
		env.Log.Info("redis: installed on every node", "from", bin, "says", said)
	}
	return err
}

// persistenceOption declares the option <target>.persistence of a Redis
// target.
func persistenceOption(target string) option.Choice {
	return option.Choice{
		Name: target + ".persistence", Default: redisPersistNone,
		Choices: []string{redisPersistNone, redisPersistAOF, redisPersistRDB},
		Help:    "what survives a restart of redis-server: none, aof (fsync every second) or rdb (a snapshot every second)",
	}
}

// redisPersistConf returns the redis.conf lines of a persistence mode.
func redisPersistConf(mode string) string {
	switch mode {
	case redisPersistAOF:
		// Every write is logged; the log is fsynced once a second.
		return "save \"\"\nappendonly yes\nappendfsync everysec\n"
	case redisPersistRDB:
		// A snapshot at most once a second when anything changed.
		return "save 1 1\nappendonly no\n"
	}
	// Nothing survives a restart: the Redis distlock spec's warning.
	return "save \"\"\nappendonly no\n"
}

// redisConfig returns a redis.conf for a node; extra is appended verbatim.
func redisConfig(ip, persistence, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "port %d\nbind 0.0.0.0\nprotected-mode no\ndaemonize no\n", redisPort)
	fmt.Fprintf(&b, "logfile \"\"\ndir %s\n", redisDir)
	// Replicas sync at once instead of after Redis's default 5-s wait for
	// more replicas to share a diskless transfer.
	b.WriteString("repl-diskless-sync-delay 0\n")
	if ip != "" {
		fmt.Fprintf(&b, "replica-announce-ip %s\n", ip)
	}
	b.WriteString(persistence)
	b.WriteString(extra)
	return b.String()
}

// redisWriteFile writes content to path on node, creating the Redis
// directories first.
func redisWriteFile(ctx context.Context, c runtime.Cluster, node, path, content string) error {
	res, err := c.Exec(ctx, node, []string{"sh", "-c",
		"mkdir -p " + redisDir + " " + redisLogDir + " && cat > " + path},
		runtime.ExecOptions{Stdin: []byte(content)})
	if err != nil {
		return fmt.Errorf("write %s on %s: %w", path, node, err)
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("write %s on %s: %w", path, node, err)
	}
	return nil
}

// redisStartServer starts redis-server on node from its redis.conf (plus
// extra command-line arguments) with the clock shim preloaded, unless it
// runs already, and waits until it answers PING.
func redisStartServer(ctx context.Context, c runtime.Cluster, node, args string) error {
	pids, err := targets.ServerPIDs(ctx, c, node, redisProcess)
	if err != nil {
		return fmt.Errorf("look for %s on %s: %w", redisProcess, node, err)
	}
	if len(pids) == 0 {
		cmd := redisProcess + " " + redisConfPath
		if args != "" {
			cmd += " " + args
		}
		d := targets.Daemon{Name: redisProcess, Cmd: cmd, Log: redisLogPath, Shim: true}
		if err := targets.StartDaemon(ctx, c, node, d); err != nil {
			return err
		}
	}
	addr, err := targets.NodeAddr(c, node, redisPort)
	if err != nil {
		return err
	}
	return redisWaitPing(ctx, addr)
}

// redisWaitPing waits until the server at addr answers PING.
func redisWaitPing(ctx context.Context, addr string) error {
	rdb := goredis.NewClient(redisClientOptions(addr))
	defer rdb.Close()
	err := wait.For(ctx, redisReadyTimeout, 100*time.Millisecond, func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	})
	if err != nil {
		return fmt.Errorf("redis at %s: %w", addr, err)
	}
	return nil
}
