package redis

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/targets"
)

// sentinelBinding is the Go binding of redis-sentinel: go-redis's failover
// client with the script of the redis target.
type sentinelBinding struct{}

// NewClient returns a go-redis failover client that asks the sentinels
// for the primary. The node it reports is the primary it last connected
// to (before its first connection, its assigned node), so that a fault
// aimed at the holder's node hits the primary the holder uses.
func (sentinelBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	c := &sentinelClient{}
	rdb := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:            sentinelMaster,
		SentinelAddrs:         sentinelAddrs(p),
		MaxRetries:            -1,
		DialTimeout:           redisIOTimeout,
		DialerRetries:         1,
		ReadTimeout:           redisIOTimeout,
		WriteTimeout:          redisIOTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		DisableIdentity:       true,
		// go-redis dials the primary that the sentinels name through this
		// dialer, and the sentinels themselves on their own port.
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && port == strconv.Itoa(redisPort) {
				if node, ok := p.NodeByIP(host); ok {
					c.primary.Store(&node)
				}
			}
			d := net.Dialer{Timeout: redisIOTimeout}
			return d.DialContext(ctx, network, addr)
		},
	})
	c.redisScriptClient = newRedisScriptClient(rdb, env.Node, env.Process, p.Lease, p.Wait)
	return c, nil
}

// sentinelClient is a redisScriptClient that names the primary it last
// connected to as its node.
type sentinelClient struct {
	*redisScriptClient
	primary atomic.Pointer[string]
}

// Node implements targets.Client.
func (c *sentinelClient) Node() string {
	if p := c.primary.Load(); p != nil {
		return *p
	}
	return c.redisScriptClient.Node()
}
