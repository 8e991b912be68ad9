package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/lockstorm/lockstorm/option"
)

// EtcdElection elects leaders with etcd's election API, the concurrency
// package's Election: Campaign puts the candidate's key on its session's
// lease and waits until every older key is gone; Resign deletes it. For
// the workloads, a campaign that wins is a grant, a leader's term is a
// hold, and resigning is a release; the leader-election workload is what
// it is for. The token is the create revision of the leader's key
// (Election.Rev).
//
// Campaign does not look at its own key again once the older keys are
// gone: a candidate whose session lease expired while it waited is told
// it won, although its key went with the lease (a phantom leader, as
// users of the API have reported). This binding keeps that behaviour, as
// it is the API's.
type EtcdElection struct {
	Etcd
}

// NewEtcdElection returns the etcd-election target.
func NewEtcdElection() *EtcdElection { return &EtcdElection{} }

// Name implements Service.
func (*EtcdElection) Name() string { return "etcd-election" }

// Description implements Service.
func (*EtcdElection) Description() string {
	return "etcd 3.4 cluster, concurrency.Election (Campaign, Resign) on a leased session per client; token = leader key create revision"
}

// Options implements Service: the members' Raft timing.
func (*EtcdElection) Options() []option.Spec { return option.Specs(etcdHeartbeatOpt, etcdElectionOpt) }

// Binding implements Service.
func (*EtcdElection) Binding() Binding { return etcdElectionBinding{} }

// etcdElectionBinding is the Go binding of etcd-election.
type etcdElectionBinding struct{}

// NewClient returns a candidate that talks to its node.
func (etcdElectionBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	c, err := newEtcdClient(env)
	if err != nil {
		return nil, err
	}
	return &etcdElectionClient{etcdClient: c, id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), terms: map[string]etcdTerm{}}, nil
}

// An etcdTerm is a won campaign: the leader's key and its revision.
type etcdTerm struct {
	key string
	rev int64
}

// etcdElectionClient is an etcdClient (its session, Abandon and Close)
// that campaigns instead of locking.
type etcdElectionClient struct {
	*etcdClient
	id    string
	terms map[string]etcdTerm // election key -> our term, under etcdClient.mu
}

// Acquire campaigns for the election of key until the wait runs out. On a
// timeout Campaign resigns, deleting its key; a Get of the key then tells
// a certain loss from an unknown one.
func (c *etcdElectionClient) Acquire(ctx context.Context, key string) (Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return Grant{}, fmt.Errorf("%w: %w", ErrNotAcquired, errEtcdClientDone)
	}
	wctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	sess, err := c.session(wctx)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: etcd session on %s: %v", ErrNotAcquired, c.node, err)
	}
	pfx := etcdLockPrefix + "election/" + key
	e := concurrency.NewElection(sess, pfx)
	err = e.Campaign(wctx, c.id)
	if err == nil {
		c.terms[key] = etcdTerm{key: e.Key(), rev: e.Rev()}
		tok := e.Rev()
		return Grant{Token: &tok}, nil
	}
	gctx, gcancel := context.WithTimeout(context.Background(), 2*time.Second)
	r, gerr := c.cli.Get(gctx, fmt.Sprintf("%s/%x", pfx, sess.Lease()), clientv3.WithCountOnly())
	gcancel()
	if gerr == nil && r.Count == 0 {
		return Grant{}, fmt.Errorf("%w: campaign for %s not won within %s: %v", ErrNotAcquired, key, c.wait, err)
	}
	c.dropSession()
	return Grant{}, fmt.Errorf("etcd campaign %s on %s: %w", key, c.node, err)
}

// Release resigns: it deletes the leader's key if it is still the one of
// our term. (Election.Resign does the same but does not say whether the
// key was still there.)
func (c *etcdElectionClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.terms[key]
	if !ok {
		return fmt.Errorf("%w: %s is not the leader of %s", ErrNotHeld, c.id, key)
	}
	delete(c.terms, key)
	return c.deleteOwn(ctx, key, t.key, clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev))
}
