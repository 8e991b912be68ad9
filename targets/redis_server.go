package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/runtime"
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
	pids, err := ServerPIDs(ctx, c, node, redisProcess)
	if err != nil {
		return fmt.Errorf("look for %s on %s: %w", redisProcess, node, err)
	}
	if len(pids) == 0 {
		cmd := redisProcess + " " + redisConfPath
		if args != "" {
			cmd += " " + args
		}
		d := Daemon{Name: redisProcess, Cmd: cmd, Log: redisLogPath, Shim: true}
		if err := StartDaemon(ctx, c, node, d); err != nil {
			return err
		}
	}
	addr, err := NodeAddr(c, node, redisPort)
	if err != nil {
		return err
	}
	return redisWaitPing(ctx, addr)
}

// redisWaitPing waits until the server at addr answers PING.
func redisWaitPing(ctx context.Context, addr string) error {
	rdb := redis.NewClient(redisClientOptions(addr))
	defer rdb.Close()
	err := wait.For(ctx, redisReadyTimeout, 100*time.Millisecond, func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	})
	if err != nil {
		return fmt.Errorf("redis at %s: %w", addr, err)
	}
	return nil
}

// redisClientOptions are the go-redis settings of every Redis client of the
// harness. go-redis retries a command after a network error by default;
// a retried SET NX would find the client's own key and report "busy" for
// a lock it holds, so retries are off. Context deadlines are honoured, so
// that redsync's per-node timeout and the harness's op timeout apply.
func redisClientOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		MaxRetries:            -1,
		DialTimeout:           redisIOTimeout,
		DialerRetries:         1,
		ReadTimeout:           redisIOTimeout,
		WriteTimeout:          redisIOTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		DisableIdentity:       true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
}

// redisNoEffectPrefixes are error replies that Redis sends before it runs
// a command at all, so the command certainly had no effect.
var redisNoEffectPrefixes = []string{
	"LOADING ", "READONLY ", "MASTERDOWN ", "BUSY ", "NOREPLICAS ",
	"TRYAGAIN ", "CLUSTERDOWN ", "NOSCRIPT ", "MISCONF ",
}

// redisNoEffect reports whether err proves that the command never ran: the
// connection could not be made (nothing was sent), the client was closed
// before sending, or the server refused the command before running it.
// Anything else (a timeout or reset after the command was written) leaves
// the outcome unknown.
func redisNoEffect(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	if errors.Is(err, redis.ErrClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range redisNoEffectPrefixes {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
	}
	return false
}

// redisLogger sends go-redis's internal messages (failed dials and the
// like, which it otherwise prints to standard error) to the run's log at
// debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.log != nil {
		l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
	}
}

// redisUseLogger points go-redis's process-wide logger at log. Only the
// Redis targets use go-redis, and one run has one target.
func redisUseLogger(log *slog.Logger) { redis.SetLogger(redisLogger{log: log}) }
