package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// etcdBinding is the Go binding of etcd: the concurrency package's Mutex
// on a leased session, through one member.
type etcdBinding struct{}

// NewClient returns a client of the client's node, so that a fault of that
// member affects it.
func (etcdBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	c, err := newEtcdClient(env)
	if err != nil {
		return nil, err
	}
	c.useTryLock = etcdAcquireOpt.Get(env.Plan.Options) == "trylock"
	return c, nil
}

// newEtcdClient returns a client of env's node with a session lease of the
// plan's lease, which the etcd targets' bindings share.
func newEtcdClient(env targets.ClientEnv) (*etcdClient, error) {
	p := env.Plan
	addr, err := p.Addr(env.Node, etcdClientPort)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	cli, err := clientv3.New(etcdClientConfig("http://" + addr))
	if err != nil {
		return nil, fmt.Errorf("etcd client of %s: %w", env.Node, err)
	}
	return &etcdClient{node: env.Node, cli: cli, held: map[string]string{},
		leaseSec: etcdTTLSeconds(p.Lease), wait: p.Wait}, nil
}

// etcdClient locks through one etcd member with the concurrency package:
// Mutex.Lock bounded by the wait budget (see lock), or, with option
// etcd.acquire=trylock, Mutex.TryLock retried (see tryLock).
//
// Before the first attempt, Acquire renews the session lease once
// (KeepAliveOnce), or grants a new one when it has expired, so that the
// lease of a grant runs at least leaseSec from after the acquire began,
// which is what Lease promises.
type etcdClient struct {
	node string
	cli  *clientv3.Client
	// leaseSec is the session TTL asked of etcd, in seconds: the lease
	// the servers granted in Setup (plan.Plan.Lease), so never raised again.
	leaseSec   int64
	wait       time.Duration
	useTryLock bool // option etcd.acquire=trylock

	mu   sync.Mutex
	sess *concurrency.Session
	// held maps a lock key to this client's key under its prefix.
	held map[string]string
	done bool
}

// errEtcdClientDone is returned by a client that was closed or abandoned.
var errEtcdClientDone = errors.New("etcd client closed")

func (c *etcdClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return targets.Grant{}, fmt.Errorf("%w: %w", targets.ErrNotAcquired, errEtcdClientDone)
	}
	if _, ok := c.held[key]; ok {
		return targets.Grant{}, fmt.Errorf("etcd: %s already holds %s", c.node, key)
	}
	deadline := time.Now().Add(c.wait)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	sess, err := c.session(wctx)
	cancel()
	if err != nil {
		// Nothing was written under the lock prefix: certainly not taken.
		return targets.Grant{}, fmt.Errorf("%w: etcd session on %s: %v", targets.ErrNotAcquired, c.node, err)
	}
	m := concurrency.NewMutex(sess, etcdLockPrefix+key)
	if c.useTryLock {
		return c.tryLock(ctx, m, key, deadline)
	}
	return c.lock(ctx, m, key, deadline)
}

// lock takes the lock with Mutex.Lock, which queues our key and waits for
// the keys before it. When the wait budget ends, Lock deletes our key with
// an error it drops; Unlock marks a successful delete by clearing the
// mutex's key, so m.Key() tells a definite failure from an unknown one.
// Lock's clean-up runs without a deadline, so lock returns at ctx's end
// and leaves it to finish.
func (c *etcdClient) lock(ctx context.Context, m *concurrency.Mutex, key string, deadline time.Time) (targets.Grant, error) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Lock(wctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		c.dropSessionAfter(done)
		return targets.Grant{}, fmt.Errorf("etcd lock %s on %s: %w", key, c.node, ctx.Err())
	}
	switch {
	case err == nil:
		tok := etcdCreateRevision(m)
		c.held[key] = m.Key()
		return targets.Grant{Token: &tok}, nil
	case m.Key() == "\x00":
		// Lock's clean-up deleted our key: certainly not held.
		if errors.Is(err, context.DeadlineExceeded) {
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s (client on %s)", targets.ErrNotAcquired, key, c.wait, c.node)
		}
		return targets.Grant{}, fmt.Errorf("%w: %s: %v, and the waiter key was removed (client on %s)", targets.ErrNotAcquired, key, err, c.node)
	case errors.Is(err, concurrency.ErrSessionExpired), errors.Is(err, rpctypes.ErrLeaseNotFound):
		// Our key went with the lease, or the put was refused as a whole.
		c.dropSession()
		return targets.Grant{}, fmt.Errorf("%w: etcd session on %s expired: %v", targets.ErrNotAcquired, c.node, err)
	default:
		// The put may have happened and our key may still be queued.
		c.dropSession()
		return targets.Grant{}, fmt.Errorf("etcd lock %s on %s: %w", key, c.node, err)
	}
}

// etcdCreateRevision returns the create revision of the mutex's key, the
// fencing token, as the mutex recorded it when it queued the key: IsOwner
// is a comparison of the key's create revision with that number. (The
// mutex's Header is that of a later read when Lock had to wait.)
func etcdCreateRevision(m *concurrency.Mutex) int64 {
	cmp := pb.Compare(m.IsOwner())
	return cmp.GetCreateRevision()
}

// tryLock takes the lock with Mutex.TryLock, retried until the wait budget
// ends (option etcd.acquire=trylock). TryLock puts our key and, when an
// older key holds the lock, deletes it again before it returns ErrLocked:
// a definite failure that leaves nothing behind. Between attempts it
// watches the holder's key. It is not fair: waiters race at each release.
func (c *etcdClient) tryLock(ctx context.Context, m *concurrency.Mutex, key string, deadline time.Time) (targets.Grant, error) {
	for attempts := 1; ; attempts++ {
		err := m.TryLock(ctx)
		switch {
		case err == nil:
			tok := etcdCreateRevision(m)
			c.held[key] = m.Key()
			return targets.Grant{Token: &tok}, nil
		case errors.Is(err, concurrency.ErrLocked):
			// Definite: someone else holds it, and our key is deleted.
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			// The transaction was refused as a whole: nothing was put.
			c.dropSession()
			return targets.Grant{}, fmt.Errorf("%w: etcd session on %s expired: %v", targets.ErrNotAcquired, c.node, err)
		default:
			// The put (or the delete after ErrLocked) may or may not have
			// happened; a key of ours may sit in the queue.
			c.dropSession()
			return targets.Grant{}, fmt.Errorf("etcd try-lock %s on %s: %w", key, c.node, err)
		}
		if !time.Now().Before(deadline) {
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s (%d attempts on %s)", targets.ErrNotAcquired, key, c.wait, attempts, c.node)
		}
		c.waitOwner(ctx, etcdLockPrefix+key+"/", deadline)
		if ctx.Err() != nil {
			return targets.Grant{}, fmt.Errorf("%w: %s busy until the call ended (%d attempts on %s)", targets.ErrNotAcquired, key, attempts, c.node)
		}
	}
}

// waitOwner waits until the key that holds the lock under pfx is deleted
// (released, or gone with its lease), or until deadline: the wait of
// Mutex.Lock, but for the current holder only. Any error ends the wait
// early; the caller then simply tries again.
func (c *etcdClient) waitOwner(ctx context.Context, pfx string, deadline time.Time) {
	defer wait.Sleep(ctx, 2*time.Millisecond) // no hot loop if the calls fail fast
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	resp, err := c.cli.Get(wctx, pfx, clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return
	}
	owner := string(resp.Kvs[0].Key)
	wch := c.cli.Watch(clientv3.WithRequireLeader(wctx), owner,
		clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterPut())
	for wr := range wch {
		if wr.Err() != nil || len(wr.Events) > 0 {
			return
		}
	}
}

// session returns a live session whose lease was renewed just now, or a
// new one.
func (c *etcdClient) session(ctx context.Context) (*concurrency.Session, error) {
	if c.sess != nil {
		select {
		case <-c.sess.Done():
			// The background keepalive gave up; the lease may be gone.
			c.sess = nil
		default:
			_, err := c.cli.KeepAliveOnce(ctx, c.sess.Lease())
			switch {
			case err == nil:
				return c.sess, nil
			case errors.Is(err, rpctypes.ErrLeaseNotFound):
				c.sess.Orphan()
				c.sess = nil
			default:
				return nil, fmt.Errorf("renew lease: %w", err)
			}
		}
	}
	resp, err := c.cli.Grant(ctx, c.leaseSec)
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	s, err := concurrency.NewSession(c.cli, concurrency.WithTTL(int(c.leaseSec)), concurrency.WithLease(resp.ID))
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	c.sess = s
	return s, nil
}

// dropSessionAfter drops the session once the call that reports on done
// has returned.
func (c *etcdClient) dropSessionAfter(done <-chan error) {
	s := c.sess
	c.sess = nil
	if s == nil {
		return
	}
	go func() {
		<-done
		s.Orphan()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = c.cli.Revoke(ctx, s.Lease())
	}()
}

// dropSession stops using the session after an indeterminate call and
// revokes its lease in the background, which frees any key of ours that
// may have been left behind. The next Acquire starts a new session, whose
// keys have new names.
func (c *etcdClient) dropSession() {
	s := c.sess
	c.sess = nil
	if s == nil {
		return
	}
	s.Orphan()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = c.cli.Revoke(ctx, s.Lease())
	}()
}

// Release deletes the client's key. The deletion count tells a release
// from a key that the lease's expiry had already removed; the client
// library retries a delete only when it was never sent, so the count is
// reliable.
func (c *etcdClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	myKey, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.node, key)
	}
	delete(c.held, key)
	if c.done {
		return fmt.Errorf("release %s: %w", key, errEtcdClientDone)
	}
	resp, err := c.cli.Delete(ctx, myKey)
	if err != nil {
		c.dropSession()
		return fmt.Errorf("etcd unlock %s on %s: %w", key, c.node, err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%w: the session lease of %s expired before the release", targets.ErrNotHeld, key)
	}
	return nil
}

// deleteOwn deletes k, the key of this client that holds key, if guard
// holds: a transaction, so that the answer tells a release from a key that
// had gone with an expired lease. c.mu must be held.
func (c *etcdClient) deleteOwn(ctx context.Context, key, k string, guard clientv3.Cmp) error {
	if c.done {
		return fmt.Errorf("release %s: %w", key, errEtcdClientDone)
	}
	r, err := c.cli.Txn(ctx).If(guard).Then(clientv3.OpDelete(k)).Commit()
	if err != nil {
		c.dropSession()
		return fmt.Errorf("etcd release %s on %s: %w", key, c.node, err)
	}
	if !r.Succeeded {
		return fmt.Errorf("%w: the session lease of %s expired before the release", targets.ErrNotHeld, key)
	}
	return nil
}

func (c *etcdClient) Node() string { return c.node }

// Abandon stops the session's keepalives without revoking the lease and
// closes the connection, so that the client's keys stay until the lease
// expires.
func (c *etcdClient) Abandon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	if c.sess != nil {
		c.sess.Orphan()
		c.sess = nil
	}
	_ = c.cli.Close()
}

// Close revokes the session lease, which frees whatever the client holds,
// and closes the connection.
func (c *etcdClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.sess != nil {
		c.sess.Orphan()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = c.cli.Revoke(ctx, c.sess.Lease())
		cancel()
		c.sess = nil
	}
	return c.cli.Close()
}
