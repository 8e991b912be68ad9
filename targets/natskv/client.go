package natskv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// natsBinding is the Go binding of nats-kv.
type natsBinding struct{}

// NewClient returns a client connected to its node first; the NATS client
// moves to another server when that one goes, as NATS clients do.
func (natsBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	first, err := p.Addr(env.Node, natsPort)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	urls := []string{"nats://" + first}
	for _, node := range p.NodeNames() {
		if node != env.Node {
			a, _ := p.Addr(node, natsPort)
			urls = append(urls, "nats://"+a)
		}
	}
	return &natsClient{urls: strings.Join(urls, ","), node: env.Node, wait: p.Wait, plan: p,
		id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), held: map[string]uint64{}}, nil
}

// natsClient connects lazily, so that a client can be made while its
// server is down.
type natsClient struct {
	urls string
	node string // the node assigned; Node names the one connected to
	plan *plan.Plan
	wait time.Duration
	id   string

	mu   sync.Mutex
	nc   *nats.Conn
	kv   jetstream.KeyValue
	held map[string]uint64 // lock key -> revision of our put
	done bool
}

// bucket returns the bucket, connecting first if needed. Connecting
// changes no lock.
func (c *natsClient) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if c.done {
		return nil, errors.New("nats client closed")
	}
	if c.kv != nil {
		return c.kv, nil
	}
	nc, err := nats.Connect(c.urls, nats.Timeout(2*time.Second), nats.DontRandomize(),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	kv, err := js.KeyValue(ctx, natsBucket)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.nc, c.kv = nc, kv
	return kv, nil
}

// Acquire creates the key, retrying while it exists until the wait runs
// out. A put that got no answer may have been stored: unknown.
func (c *natsClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(c.wait)
	backoff := 2 * time.Millisecond
	for attempts := 1; ; attempts++ {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		kv, err := c.bucket(cctx)
		if err == nil {
			var rev uint64
			rev, err = kv.Create(cctx, natsKey(key), []byte(c.id))
			cancel()
			switch {
			case err == nil:
				c.held[key] = rev
				tok := int64(rev)
				return targets.Grant{Token: &tok}, nil
			case errors.Is(err, jetstream.ErrKeyExists):
			case errors.Is(err, nats.ErrNoResponders):
				// No server took the put: nothing was stored.
			default:
				return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
			}
		} else {
			cancel()
		}
		if !time.Now().Add(backoff).Before(deadline) || ctx.Err() != nil {
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s (%d attempts): %v", targets.ErrNotAcquired, key, c.wait, attempts, err)
		}
		if !wait.Sleep(ctx, backoff) {
			return targets.Grant{}, fmt.Errorf("%w: %s busy until the call ended", targets.ErrNotAcquired, key)
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// natsKey is the bucket key of a lock key (letters, digits, - _ / = .).
func natsKey(key string) string {
	return "lock." + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, key)
}

// Release deletes the key if its last revision is still our put's: a key
// that aged out or changed hands is not ours to delete.
func (c *natsClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.id, key)
	}
	delete(c.held, key)
	kv, err := c.bucket(ctx)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	err = kv.Delete(ctx, natsKey(key), jetstream.LastRevision(rev))
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
		return fmt.Errorf("%w: %s is no longer at revision %d (aged out or taken)", targets.ErrNotHeld, key, rev)
	}
	return fmt.Errorf("release %s: %w", key, err)
}

// Node names the server the client is connected to, or the one it was
// assigned while it is not.
func (c *natsClient) Node() string {
	c.mu.Lock()
	nc := c.nc
	c.mu.Unlock()
	if nc != nil {
		if host, _, err := net.SplitHostPort(nc.ConnectedAddr()); err == nil {
			if n, ok := c.plan.NodeByIP(host); ok {
				return n
			}
		}
	}
	return c.node
}

// Abandon closes the connection; the keys stay until they age out.
func (c *natsClient) Abandon() { _ = c.Close() }

// Close closes the connection; nothing is deleted.
func (c *natsClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.nc != nil {
		c.nc.Close()
	}
	return nil
}
