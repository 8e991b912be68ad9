package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// zkClient locks through one ZooKeeper server with one session.
//
// It follows the lock recipe of go-zookeeper/zk's Lock (the same znode
// names: a protected ephemeral sequential "lock-" node per waiter, the
// lowest sequence holds the lock, each waiter watches its predecessor),
// built from the library's own calls, because zk.Lock cannot be used
// soundly here:
//   - Lock waits without a deadline, and the only way to stop it is to
//     close the whole session;
//   - after an error it returns without deleting its znode, which then
//     stays in the queue and becomes the holder later;
//   - its znode path and sequence number (the token) are unexported;
//   - it starts its search for the lowest sequence from its own, so if its
//     znode vanished with an expired session (go-zookeeper then opens a
//     new session by itself), it can report the lock as taken.
//
// Here the wait ends at the wait budget: the client deletes its znode, and
// a confirmed deletion makes the failure definite.
type zkClient struct {
	node   string
	addr   string
	asked  time.Duration // the session timeout to ask for
	lease  time.Duration // the session timeout the servers negotiated
	wait   time.Duration
	log    *slog.Logger
	conn   *zk.Conn
	dialer *zkDialer

	mu   sync.Mutex
	held map[string]string // lock key -> our znode
	done bool
}

// errZkClientDone is returned by a client that was closed or abandoned.
var errZkClientDone = errors.New("zookeeper client closed")

// zkBinding is the Go binding of zookeeper: the lock recipe of
// go-zookeeper/zk, built from the library's own calls (see zkClient).
type zkBinding struct{}

// NewClient returns a client of the client's node. Its session is opened
// in the background, so a client of a server that is down is created at
// once and fails per call.
func (zkBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	addr, err := p.Addr(env.Node, zkClientPort)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	c := &zkClient{node: env.Node, addr: addr, asked: zkAsked(p), lease: p.Lease,
		wait: p.Wait, log: env.Log, held: map[string]string{}}
	c.dialer = &zkDialer{}
	c.conn, _, err = zk.Connect([]string{addr}, c.asked,
		zk.WithDialer(c.dialer.dial), zk.WithLogger(zkLogger{c.log}), zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("zookeeper client of %s: %w", env.Node, err)
	}
	return c, nil
}

// zkLockDir is the znode under which the waiters for key queue.
func zkLockDir(key string) string {
	name := url.PathEscape(key)
	if name == "" || name == "." || name == ".." || name == "zookeeper" {
		name = "_" + name
	}
	return zkLockRoot + "/" + name
}

// zkSeq returns the sequence number at the end of a lock znode's name.
func zkSeq(name string) (int64, bool) {
	i := strings.LastIndex(name, "lock-")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(name[i+len("lock-"):], 10, 64)
	return n, err == nil
}

func (c *zkClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return targets.Grant{}, fmt.Errorf("%w: %w", targets.ErrNotAcquired, errZkClientDone)
	}
	if _, ok := c.held[key]; ok {
		return targets.Grant{}, fmt.Errorf("zookeeper: %s already holds %s", c.node, key)
	}
	conn := c.conn // calls that outlive ctx keep using this session
	deadline := time.Now().Add(c.wait)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	err := zkWaitSession(wctx, conn)
	cancel()
	if err != nil {
		// Nothing was sent.
		return targets.Grant{}, fmt.Errorf("%w: on %s: %v", targets.ErrNotAcquired, c.node, err)
	}
	dir := zkLockDir(key)
	path, err := zkDo(ctx, func() (string, error) { return zkCreate(conn, dir) })
	switch {
	case errors.Is(err, zk.ErrSessionExpired):
		// Our ephemeral znode, if it was ever made, died with the session.
		return targets.Grant{}, fmt.Errorf("%w: session on %s expired: %v", targets.ErrNotAcquired, c.node, err)
	case err != nil:
		c.newSession()
		return targets.Grant{}, fmt.Errorf("zookeeper lock %s on %s: create: %w", key, c.node, err)
	}
	mine := path[strings.LastIndex(path, "/")+1:]
	seq, ok := zkSeq(mine)
	if !ok {
		return targets.Grant{}, c.giveUp(ctx, conn, key, path, fmt.Errorf("no sequence number in %s", path))
	}
	for {
		pred, err := zkPredecessor(ctx, conn, dir, mine, seq)
		switch {
		case errors.Is(err, errZkGone):
			return targets.Grant{}, fmt.Errorf("%w: %s lost its znode (session expired) while waiting for %s", targets.ErrNotAcquired, c.node, key)
		case err != nil:
			return targets.Grant{}, c.giveUp(ctx, conn, key, path, err)
		case pred == "":
			c.held[key] = path
			return targets.Grant{Token: &seq}, nil
		}
		if !time.Now().Before(deadline) {
			return targets.Grant{}, c.giveUp(ctx, conn, key, path, nil)
		}
		exists, ch, err := zkDo2(ctx, func() (bool, <-chan zk.Event, error) {
			ok, _, ch, err := conn.ExistsW(dir + "/" + pred)
			return ok, ch, err
		})
		if err != nil {
			return targets.Grant{}, c.giveUp(ctx, conn, key, path, err)
		}
		if !exists {
			continue
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			return targets.Grant{}, c.giveUp(ctx, conn, key, path, ctx.Err())
		}
	}
}

// zkCreate makes our waiter znode under dir, creating dir first if needed.
func zkCreate(conn *zk.Conn, dir string) (string, error) {
	acl := zk.WorldACL(zk.PermAll)
	path, err := conn.CreateProtectedEphemeralSequential(dir+"/lock-", nil, acl)
	if !errors.Is(err, zk.ErrNoNode) {
		return path, err
	}
	if _, err := conn.Create(dir, nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return "", err
	}
	return conn.CreateProtectedEphemeralSequential(dir+"/lock-", nil, acl)
}

// errZkGone means our waiter znode is no longer among the lock's children.
var errZkGone = errors.New("waiter znode gone")

// zkPredecessor lists the waiters and returns the one just before ours,
// or "" when ours is the lowest: then we hold the lock.
func zkPredecessor(ctx context.Context, conn *zk.Conn, dir, mine string, seq int64) (string, error) {
	children, err := zkDo(ctx, func() ([]string, error) {
		ch, _, err := conn.Children(dir)
		return ch, err
	})
	if err != nil {
		return "", err
	}
	found := false
	pred, predSeq := "", int64(-1)
	for _, ch := range children {
		if ch == mine {
			found = true
			continue
		}
		s, ok := zkSeq(ch)
		if ok && s < seq && s > predSeq {
			pred, predSeq = ch, s
		}
	}
	if !found {
		return "", errZkGone
	}
	return pred, nil
}

// giveUp deletes our waiter znode after the wait budget ran out (cause
// nil) or a call failed. A confirmed deletion, or a znode already gone,
// makes the failure definite; otherwise the znode may stay in the queue
// and the result is indeterminate.
func (c *zkClient) giveUp(ctx context.Context, conn *zk.Conn, key, path string, cause error) error {
	dctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.lease)
		defer cancel()
	}
	_, err := zkDo(dctx, func() (struct{}, error) { return struct{}{}, conn.Delete(path, -1) })
	if err == nil || errors.Is(err, zk.ErrNoNode) {
		if cause == nil {
			return fmt.Errorf("%w: %s busy for %s (client on %s)", targets.ErrNotAcquired, key, c.wait, c.node)
		}
		return fmt.Errorf("%w: %s: gave up after %v (client on %s)", targets.ErrNotAcquired, key, cause, c.node)
	}
	if cause == nil {
		cause = errors.New("busy")
	}
	c.newSession()
	return fmt.Errorf("zookeeper lock %s on %s: %v, and removing the waiter failed: %w", key, c.node, cause, err)
}

// Release deletes our znode. ErrNoNode means that the session expired and
// took the znode with it: the release certainly did nothing. After any
// other error the znode may or may not be gone, and the client moves to a
// new session, whose start ends the old one (and the znode with it).
func (c *zkClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	path, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.node, key)
	}
	delete(c.held, key)
	if c.done {
		return fmt.Errorf("release %s: %w", key, errZkClientDone)
	}
	conn := c.conn
	var err error
	for {
		_, err = zkDo(ctx, func() (struct{}, error) { return struct{}{}, conn.Delete(path, -1) })
		// ErrNoServer: the library found no server and dropped the
		// request unsent; try again while the call lasts.
		if !errors.Is(err, zk.ErrNoServer) || !wait.Sleep(ctx, 50*time.Millisecond) {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%w: the session of %s expired before the release", targets.ErrNotHeld, key)
	default:
		c.newSession()
		return fmt.Errorf("zookeeper unlock %s on %s: %w", key, c.node, err)
	}
}

// newSession replaces the session after an indeterminate call, which may
// have left a waiter znode of ours in a queue (it would become the holder
// later, and block this client's next attempt on the same lock). Closing
// the old session deletes its znodes; if the close does not get through,
// they go when the session expires.
func (c *zkClient) newSession() {
	old := c.conn
	d := &zkDialer{}
	conn, _, err := zk.Connect([]string{c.addr}, c.asked,
		zk.WithDialer(d.dial), zk.WithLogger(zkLogger{c.log}), zk.WithLogInfo(false))
	if err != nil {
		return // only for an empty server list
	}
	c.conn, c.dialer = conn, d
	go old.Close()
}

func (c *zkClient) Node() string { return c.node }

// Abandon cuts the TCP connection and refuses new ones, then stops the
// library's loop, so that no closeSession reaches the server: the session
// and its znodes live until the session timeout.
func (c *zkClient) Abandon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	c.dialer.kill()
	go c.conn.Close()
}

// Close ends the session, which deletes its znodes on the servers.
func (c *zkClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	c.conn.Close()
	return nil
}

// zkDialer dials the client's server and can cut the connection and
// refuse to dial again.
type zkDialer struct {
	mu   sync.Mutex
	cur  net.Conn
	dead bool
}

var errZkAbandoned = errors.New("client abandoned")

func (d *zkDialer) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return nil, errZkAbandoned
	}
	conn, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		conn.Close()
		return nil, errZkAbandoned
	}
	d.cur = conn
	return conn, nil
}

func (d *zkDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	if d.cur != nil {
		_ = d.cur.Close()
	}
}

// zkDo runs a blocking library call and returns its result, or ctx's error
// if ctx ends first; the call may then still take effect.
func zkDo[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// zkDo2 is zkDo for calls with two results.
func zkDo2[A, B any](ctx context.Context, f func() (A, B, error)) (A, B, error) {
	type pair struct {
		a A
		b B
	}
	p, err := zkDo(ctx, func() (pair, error) {
		a, b, err := f()
		return pair{a, b}, err
	})
	return p.a, p.b, err
}
