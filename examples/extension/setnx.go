package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// SetNX is the Redis lock of many a blog post: SETNX, then EXPIRE, and a
// plain DEL to release. Each step is a mistake the redis target avoids:
// the two commands are not atomic, and the DEL of a holder whose key had
// expired deletes the next holder's lock. Under client-pause the run shows
// the second one: overlaps that look like early grants, because the lock
// key was deleted under its holder.
type SetNX struct {
	cluster runtime.Cluster
	node    string
}

// setnxCheckOpt makes the release check the value first (GET then DEL,
// still not atomic), to compare.
var setnxCheckOpt = option.Choice{Name: "redis-setnx.release", Default: "del", Choices: []string{"del", "get-del"},
	Help: "del: a plain DEL; get-del: GET, compare, then DEL"}

// The required interface, targets.Service.

func (*SetNX) Name() string { return "redis-setnx" }
func (*SetNX) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "one redis-server: SETNX then EXPIRE, released with a plain DEL (an extension's example)",
		DefaultNodes: 1,
		Options:      option.Specs(setnxCheckOpt),
		Ports:        map[string]int{"redis": 6379},
	}
}
func (*SetNX) Prepare(p *plan.Plan) (time.Duration, error) { return p.TTL, nil }
func (*SetNX) Binding() targets.Binding                    { return setnxBinding{} }
func (*SetNX) Teardown(context.Context) error              { return nil }

// Setup starts redis-server on the first node and waits until it answers.
// The lease is the key's TTL.
func (s *SetNX) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	s.cluster, s.node = env.Cluster, env.Plan.Nodes[0].Name
	if err := s.start(ctx, s.node); err != nil {
		return 0, err
	}
	return env.Plan.TTL, nil
}

// Optional interfaces (targets/optional.go): targets.Expirer, and
// targets.Servers, which the kill and pause nemeses need.

func (*SetNX) Expiry() targets.Expiry                            { return targets.FixedExpiry }
func (*SetNX) ServerProcess(string) string                       { return "redis-server" }
func (s *SetNX) StartServer(ctx context.Context, n string) error { return s.start(ctx, n) }

func (s *SetNX) start(ctx context.Context, node string) error {
	err := targets.StartDaemon(ctx, s.cluster, node, targets.Daemon{
		Name: "redis-server", Cmd: "redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no", Shim: true,
	})
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := targets.Sh(ctx, s.cluster, node, "redis-cli ping")
		if err == nil && strings.TrimSpace(out) == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s does not answer: %v", node, err)
		}
	}
}

type setnxBinding struct{}

func (setnxBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	n := env.Plan.Nodes[0]
	rdb := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(n.IP, strconv.Itoa(n.Ports["redis"])), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, ContextTimeoutEnabled: true})
	return &setnxClient{rdb: rdb, node: n.Name, ttl: env.Plan.Lease, wait: env.Plan.Wait,
		value: "p" + strconv.Itoa(env.Process), check: setnxCheckOpt.Get(env.Plan.Options) == "get-del"}, nil
}

type setnxClient struct {
	rdb       *redis.Client
	node      string
	ttl, wait time.Duration
	value     string
	check     bool
}

// Acquire retries SETNX until it wins or the wait ends, then sets the TTL
// with a second command.
func (c *setnxClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	for deadline := time.Now().Add(c.wait); ; {
		ok, err := c.rdb.SetNX(ctx, key, c.value, 0).Result()
		if err != nil {
			return targets.Grant{}, fmt.Errorf("setnx %s: outcome unknown: %w", key, err)
		}
		if ok {
			if err := c.rdb.Expire(ctx, key, c.ttl).Err(); err != nil {
				return targets.Grant{}, fmt.Errorf("expire %s: the key may have no TTL: %w", key, err)
			}
			return targets.Grant{}, nil
		}
		if time.Now().After(deadline) {
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s", targets.ErrNotAcquired, key, c.wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Release deletes the key: whoever holds it now, unless redis-setnx.release
// is get-del.
func (c *setnxClient) Release(ctx context.Context, key string) error {
	if c.check {
		v, err := c.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) || err == nil && v != c.value {
			return fmt.Errorf("%w: %s is no longer ours", targets.ErrNotHeld, key)
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
	}
	if err := c.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("del %s: outcome unknown: %w", key, err)
	}
	return nil
}

func (c *setnxClient) Node() string { return c.node }
func (c *setnxClient) Abandon()     { _ = c.rdb.Close() }
func (c *setnxClient) Close() error { return c.rdb.Close() }
