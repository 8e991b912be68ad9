package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
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
	p := env.Plan
	addr, err := p.Addr(env.Node, etcdClientPort)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	cli, err := clientv3.New(etcdClientConfig("http://" + addr))
	if err != nil {
		return nil, fmt.Errorf("etcd client of %s: %w", env.Node, err)
	}
	return &etcdElectionClient{node: env.Node, cli: cli, ttlSec: etcdTTLSeconds(p.Lease), wait: p.Wait,
		id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), terms: map[string]etcdTerm{}}, nil
}

// An etcdTerm is a won campaign: the leader's key and its revision.
type etcdTerm struct {
	key string
	rev int64
}

type etcdElectionClient struct {
	node   string
	cli    *clientv3.Client
	ttlSec int64
	wait   time.Duration
	id     string

	mu    sync.Mutex
	sess  *concurrency.Session
	terms map[string]etcdTerm // election key -> our term
	done  bool
}

// session returns the live session, or a new one.
func (c *etcdElectionClient) session(ctx context.Context) (*concurrency.Session, error) {
	if c.sess != nil {
		select {
		case <-c.sess.Done():
			c.sess = nil
		default:
			return c.sess, nil
		}
	}
	s, err := concurrency.NewSession(c.cli, concurrency.WithTTL(int(c.ttlSec)), concurrency.WithContext(context.Background()))
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	c.sess = s
	return s, nil
}

// dropSession revokes the session's lease in the background, which deletes
// any key of ours a campaign left behind.
func (c *etcdElectionClient) dropSession() {
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
	e := concurrency.NewElection(sess, etcdLockPrefix+"election/"+key)
	err = e.Campaign(wctx, c.id)
	if err == nil {
		c.terms[key] = etcdTerm{key: e.Key(), rev: e.Rev()}
		tok := e.Rev()
		return Grant{Token: &tok}, nil
	}
	own := fmt.Sprintf("%s%s/%x", etcdLockPrefix, "election/"+key, sess.Lease())
	gctx, gcancel := context.WithTimeout(context.Background(), 2*time.Second)
	r, gerr := c.cli.Get(gctx, own, clientv3.WithCountOnly())
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
	if c.done {
		return fmt.Errorf("resign %s: %w", key, errEtcdClientDone)
	}
	r, err := c.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).Then(clientv3.OpDelete(t.key)).Commit()
	if err != nil {
		c.dropSession()
		return fmt.Errorf("etcd resign %s on %s: %w", key, c.node, err)
	}
	if !r.Succeeded {
		return fmt.Errorf("%w: the leader key of %s was gone (the session lease expired)", ErrNotHeld, key)
	}
	return nil
}

func (c *etcdElectionClient) Node() string { return c.node }

// Abandon stops the keepalives without revoking, and closes the
// connection: the leader key stays until the lease expires.
func (c *etcdElectionClient) Abandon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	if c.sess != nil {
		c.sess.Orphan()
	}
	_ = c.cli.Close()
}

// Close revokes the session lease and closes the connection.
func (c *etcdElectionClient) Close() error {
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
	}
	return c.cli.Close()
}
