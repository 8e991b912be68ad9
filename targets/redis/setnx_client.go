package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// redisBinding is the Go binding of the redis target: go-redis with the
// SET NX PX + INCR script against the first node.
type redisBinding struct{}

// NewClient returns a client of the one server.
func (redisBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	addr, err := redisAddr(p)
	if err != nil {
		return nil, err
	}
	rdb := goredis.NewClient(redisClientOptions(addr))
	return newRedisScriptClient(rdb, p.Nodes[0].Name, env.Process, p.Lease, p.Wait), nil
}

// redisAddr is the address of the one server, on the plan's first node.
func redisAddr(p *plan.Plan) (string, error) {
	if len(p.Nodes) == 0 {
		return "", fmt.Errorf("redis: no nodes")
	}
	addr, err := p.Addr(p.Nodes[0].Name, redisPort)
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	return addr, nil
}

// redisAcquireScript takes the lock with SET NX PX and, only if the key was
// set, increments the key's fencing counter and returns it as the token. It
// returns nil when the lock is busy. KEYS: lock, fence counter. ARGV: the
// holder's unique value, the TTL in milliseconds.
var redisAcquireScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
`)

// redisReleaseScript deletes the lock only if it still holds the caller's
// value, and returns the number of keys deleted (0 when not the holder).
var redisReleaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// redisFenceKey names the fencing counter of a lock key.
func redisFenceKey(key string) string { return key + ":fence" }

// redisUniqueValue returns a holder value unique to this acquire: the
// process id and 64 random bits.
func redisUniqueValue(process int) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux; fall back to math/rand.
		return fmt.Sprintf("p%d-%016x", process, mathrand.Uint64())
	}
	return "p" + strconv.Itoa(process) + "-" + hex.EncodeToString(b[:])
}

// A redisScriptClient locks with the SET NX PX + INCR script over one
// go-redis client: a plain client for the redis target, a Sentinel
// failover client for redis-sentinel.
type redisScriptClient struct {
	rdb     *goredis.Client
	node    string
	process int
	ttl     time.Duration
	wait    time.Duration

	mu   sync.Mutex
	held map[string]string // key -> the value this client set
}

func newRedisScriptClient(rdb *goredis.Client, node string, process int, ttl, wait time.Duration) *redisScriptClient {
	return &redisScriptClient{rdb: rdb, node: node, process: process, ttl: ttl, wait: wait, held: map[string]string{}}
}

// Acquire runs the acquire script until it takes the lock or the wait
// budget runs out. A "busy" answer, or an error that proves the script
// never ran, is retried after a short backoff; any other error may hide a
// successful SET and is returned as indeterminate at once.
func (c *redisScriptClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	value := redisUniqueValue(c.process)
	ms := c.ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	deadline := time.Now().Add(c.wait)
	backoff := 5 * time.Millisecond
	attempts := 0
	var last error
	for {
		if err := ctx.Err(); err != nil {
			return targets.Grant{}, fmt.Errorf("%w: %s after %d attempts: %v", targets.ErrNotAcquired, key, attempts, err)
		}
		attempts++
		tok, err := redisAcquireScript.Run(ctx, c.rdb, []string{key, redisFenceKey(key)}, value, ms).Int64()
		switch {
		case err == nil:
			c.mu.Lock()
			c.held[key] = value
			c.mu.Unlock()
			return targets.Grant{Token: &tok}, nil
		case errors.Is(err, goredis.Nil):
			last = nil
		case redisNoEffect(err):
			last = err
		default:
			return targets.Grant{}, fmt.Errorf("acquire %s: outcome unknown: %w", key, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			if last != nil {
				return targets.Grant{}, fmt.Errorf("%w: %s after %d attempts in %s; last: %v", targets.ErrNotAcquired, key, attempts, c.wait, last)
			}
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s (%d attempts)", targets.ErrNotAcquired, key, c.wait, attempts)
		}
		d := backoff/2 + time.Duration(mathrand.Int64N(int64(backoff)))
		if d > left {
			d = left
		}
		if !wait.Sleep(ctx, d) {
			continue // the ctx check above reports it
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// Release deletes the lock if this client's value is still there.
func (c *redisScriptClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	value, ok := c.held[key]
	delete(c.held, key)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s was not acquired by this client", targets.ErrNotHeld, key)
	}
	n, err := redisReleaseScript.Run(ctx, c.rdb, []string{key}, value).Int64()
	switch {
	case err == nil && n == 1:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s holds another value or expired", targets.ErrNotHeld, key)
	case redisNoEffect(err):
		return fmt.Errorf("%w: %s: release refused: %v", targets.ErrNotHeld, key, err)
	}
	return fmt.Errorf("release %s: outcome unknown: %w", key, err)
}

// Node names the node this client is assigned to.
func (c *redisScriptClient) Node() string { return c.node }

// Abandon closes the connections without releasing anything: only the
// keys' TTL frees the locks.
func (c *redisScriptClient) Abandon() { _ = c.rdb.Close() }

// Close closes the connections.
func (c *redisScriptClient) Close() error {
	if err := c.rdb.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return err
	}
	return nil
}
