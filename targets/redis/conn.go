package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// The go-redis settings and error rules of every connection of the Redis
// targets: their Go bindings', and the harness's own health checks.

// redisClientOptions are the go-redis settings of every Redis client of the
// harness. go-redis retries a command after a network error by default;
// a retried SET NX would find the client's own key and report "busy" for
// a lock it holds, so retries are off. Context deadlines are honoured, so
// that redsync's per-node timeout and the harness's op timeout apply.
func redisClientOptions(addr string) *goredis.Options {
	return &goredis.Options{
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
	if err == nil || errors.Is(err, goredis.Nil) {
		return false
	}
	if errors.Is(err, goredis.ErrClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var re goredis.Error
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
func redisUseLogger(log *slog.Logger) { goredis.SetLogger(redisLogger{log: log}) }
