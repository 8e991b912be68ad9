package etcd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/lockstorm/lockstorm/targets"
)

// etcdElectionBinding is the Go binding of etcd-election.
type etcdElectionBinding struct{}

// NewClient returns a candidate that talks to its node.
func (etcdElectionBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	c, err := newEtcdClient(env)
	if err != nil {
		return nil, err
	}
	return &etcdElectionClient{etcdClient: c, id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), terms: map[string]etcdTerm{},
		proclaim: etcdProclaimOpt.Get(env.Plan.Options) == "on"}, nil
}

// An etcdTerm is a won campaign: the leader's key and its revision, and
// the election, to proclaim in.
type etcdTerm struct {
	key string
	rev int64
	e   *concurrency.Election
}

// etcdElectionClient is an etcdClient (its session, Abandon and Close)
// that campaigns instead of locking.
type etcdElectionClient struct {
	*etcdClient
	id    string
	terms map[string]etcdTerm // election key -> our term, under etcdClient.mu
	// proclaim: the client checks its leadership with Proclaim.
	proclaim bool
}

// Acquire campaigns for the election of key until the wait runs out. On a
// timeout Campaign resigns, deleting its key; a Get of the key then tells
// a certain loss from an unknown one.
func (c *etcdElectionClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return targets.Grant{}, fmt.Errorf("%w: %w", targets.ErrNotAcquired, errEtcdClientDone)
	}
	wctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	sess, err := c.session(wctx)
	if err != nil {
		return targets.Grant{}, fmt.Errorf("%w: etcd session on %s: %v", targets.ErrNotAcquired, c.node, err)
	}
	pfx := etcdLockPrefix + "election/" + key
	e := concurrency.NewElection(sess, pfx)
	err = e.Campaign(wctx, c.id)
	if err == nil {
		c.terms[key] = etcdTerm{key: e.Key(), rev: e.Rev(), e: e}
		tok := e.Rev()
		return targets.Grant{Token: &tok}, nil
	}
	gctx, gcancel := context.WithTimeout(context.Background(), 2*time.Second)
	r, gerr := c.cli.Get(gctx, fmt.Sprintf("%s/%x", pfx, sess.Lease()), clientv3.WithCountOnly())
	gcancel()
	if gerr == nil && r.Count == 0 {
		return targets.Grant{}, fmt.Errorf("%w: campaign for %s not won within %s: %v", targets.ErrNotAcquired, key, c.wait, err)
	}
	c.dropSession()
	return targets.Grant{}, fmt.Errorf("etcd campaign %s on %s: %w", key, c.node, err)
}

// Release resigns: it deletes the leader's key if it is still the one of
// our term. (Election.Resign does the same but does not say whether the
// key was still there.)
func (c *etcdElectionClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.terms[key]
	if !ok {
		return fmt.Errorf("%w: %s is not the leader of %s", targets.ErrNotHeld, c.id, key)
	}
	delete(c.terms, key)
	return c.deleteOwn(ctx, key, t.key, clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev))
}

// CanCheck implements targets.Checker: with etcd-election.proclaim=on.
func (c *etcdElectionClient) CanCheck() bool { return c.proclaim }

// Check implements targets.Checker: the leader proclaims its id, a write of
// its own key conditioned on the key's create revision. etcd refuses it once
// the key is gone (its session's lease expired): the leader learns it lost.
// Any other failure (the cluster out of reach) counts as a loss too: a leader
// that cannot confirm its term stops acting.
func (c *etcdElectionClient) Check(ctx context.Context, key string) error {
	c.mu.Lock()
	t, ok := c.terms[key]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s is not the leader of %s", targets.ErrLost, c.id, key)
	}
	if err := t.e.Proclaim(ctx, c.id); err != nil {
		return fmt.Errorf("%w: proclaim on %s: %v", targets.ErrLost, c.node, err)
	}
	return nil
}
