package inmemory

import (
	"context"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// memBinding creates clients of one Service's servers.
type memBinding struct{ m *Service }

// NewClient returns a client of the server on the client's node.
func (b memBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	srv, ok := b.m.servers[env.Node]
	if !ok {
		return nil, fmt.Errorf("inmemory: no server on node %q", env.Node)
	}
	return &memClient{srv: srv, node: env.Node, process: env.Process, wait: env.Plan.Wait}, nil
}

type memClient struct {
	srv     *memServer
	node    string
	process int
	wait    time.Duration
}

func (c *memClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	var deadline <-chan time.Time
	if c.wait > 0 {
		t := time.NewTimer(c.wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		c.srv.mu.Lock()
		if _, held := c.srv.holders[key]; !held {
			c.srv.holders[key] = c.process
			c.srv.mu.Unlock()
			return targets.Grant{}, nil
		}
		freed := c.srv.freed
		c.srv.mu.Unlock()
		select {
		case <-freed:
		case <-deadline:
			return targets.Grant{}, targets.ErrNotAcquired
		case <-ctx.Done():
			// Nothing was taken: the table is only changed under the
			// mutex, above.
			return targets.Grant{}, fmt.Errorf("%w: %v", targets.ErrNotAcquired, ctx.Err())
		}
	}
}

func (c *memClient) Release(_ context.Context, key string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if p, held := c.srv.holders[key]; !held || p != c.process {
		return targets.ErrNotHeld
	}
	delete(c.srv.holders, key)
	close(c.srv.freed)
	c.srv.freed = make(chan struct{})
	return nil
}

func (c *memClient) Node() string { return c.node }

// Abandon leaves the client's locks held forever: an in-memory lock has no
// expiry, like the chapter's naive row lock.
func (c *memClient) Abandon() {}

func (c *memClient) Close() error { return nil }
