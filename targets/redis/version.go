package redis

import (
	"context"
	"errors"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: INFO server's redis_version.
func (r *SetNX) ServerVersion(ctx context.Context) (string, error) {
	return redisServerVersion(ctx, r.cluster, []string{r.node})
}

// ServerVersion implements targets.Versioner: INFO server's redis_version
// of the first server that answers.
func (r *Redlock) ServerVersion(ctx context.Context) (string, error) {
	return redisServerVersion(ctx, r.cluster, r.nodes)
}

// ServerVersion implements targets.Versioner: INFO server's redis_version
// of the first server that answers (the primary's or a replica's: they run
// the same redis-server).
func (s *Sentinel) ServerVersion(ctx context.Context) (string, error) {
	return redisServerVersion(ctx, s.cluster, s.nodes)
}

// redisServerVersion asks the redis-servers on nodes, in turn, for INFO
// server, which reads no key, and returns the first answer.
func redisServerVersion(ctx context.Context, c runtime.Cluster, nodes []string) (string, error) {
	if c == nil || len(nodes) == 0 || nodes[0] == "" {
		return "", errors.New("redis: not set up")
	}
	return targets.FirstAnswer(ctx, nodes, 3*time.Second, func(ctx context.Context, node string) (string, error) {
		addr, err := targets.NodeAddr(c, node, redisPort)
		if err != nil {
			return "", err
		}
		rdb := goredis.NewClient(redisClientOptions(addr))
		defer rdb.Close()
		info, err := rdb.Info(ctx, "server").Result()
		if err != nil {
			return "", err
		}
		return redisVersion(info)
	})
}

// redisVersion finds redis_version in the answer to INFO server.
func redisVersion(info string) (string, error) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return targets.ServerVersionOf("redis", v)
		}
	}
	return "", errors.New("redis: no redis_version in INFO server")
}

var (
	_ targets.Versioner = (*SetNX)(nil)
	_ targets.Versioner = (*Redlock)(nil)
	_ targets.Versioner = (*Sentinel)(nil)
)
