package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lockstorm/lockstorm/targets"
)

// The v3lock service's methods. Its messages are small enough to write by
// hand (api/v3lock/v3lockpb/v3lock.proto in etcd's repository):
//
//	LockRequest    { bytes name = 1; int64 lease = 2; }
//	LockResponse   { ResponseHeader header = 1; bytes key = 2; }
//
// which keeps etcd's server module out of lockstorm's dependencies.
const (
	v3lockLock = "/v3lockpb.Lock/Lock"
)

// rawCodec sends and receives the bytes of a hand-encoded message.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

// lockRequest encodes a LockRequest.
func lockRequest(name string, lease int64) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte(name))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(lease))
}

// lockResponseKey reads the key of a LockResponse.
func lockResponseKey(b []byte) ([]byte, error) {
	var key []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if num == 2 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			key = append([]byte(nil), v...)
		}
		b = b[n:]
	}
	if len(key) == 0 {
		return nil, errors.New("the lock response names no key")
	}
	return key, nil
}

// etcdLockAPIBinding is the Go binding of etcd-lockapi.
type etcdLockAPIBinding struct{}

// NewClient returns a client of the client's node.
func (etcdLockAPIBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	c, err := newEtcdClient(env)
	if err != nil {
		return nil, err
	}
	return &etcdLockAPIClient{etcdClient: c, owners: map[string][]byte{}}, nil
}

// etcdLockAPIClient is an etcdClient (its session's lease, kept alive in
// the background, and its Abandon and Close) that locks through the
// member's Lock service on that lease.
type etcdLockAPIClient struct {
	*etcdClient
	owners map[string][]byte // lock key -> ownership key, under etcdClient.mu
}

// Acquire asks the member to lock key on the session's lease, waiting up
// to the wait budget. When the budget ends first, the member's lock call
// may still be queued on our lease, so the lease is revoked: once that
// went through, nothing of ours is left and the failure is certain.
func (c *etcdLockAPIClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return targets.Grant{}, fmt.Errorf("%w: %w", targets.ErrNotAcquired, errEtcdClientDone)
	}
	if _, ok := c.owners[key]; ok {
		return targets.Grant{}, fmt.Errorf("etcd: %s already holds %s", c.node, key)
	}
	wctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	sess, err := c.session(wctx)
	if err != nil {
		return targets.Grant{}, fmt.Errorf("%w: etcd session on %s: %v", targets.ErrNotAcquired, c.node, err)
	}
	req, resp := lockRequest(etcdLockPrefix+"api/"+key, int64(sess.Lease())), []byte(nil)
	err = c.cli.ActiveConnection().Invoke(wctx, v3lockLock, &req, &resp, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		if errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseNotFound) {
			c.dropSession()
			return targets.Grant{}, fmt.Errorf("%w: the lease of %s expired: %v", targets.ErrNotAcquired, key, err)
		}
		if c.revokeNow(sess) {
			return targets.Grant{}, fmt.Errorf("%w: %s not granted within %s (%v); the lease was revoked", targets.ErrNotAcquired, key, c.wait, err)
		}
		return targets.Grant{}, fmt.Errorf("etcd lock %s on %s: %w, and the lease could not be revoked", key, c.node, err)
	}
	owner, err := lockResponseKey(resp)
	if err != nil {
		c.dropSession()
		return targets.Grant{}, fmt.Errorf("etcd lock %s on %s: %w", key, c.node, err)
	}
	// The token: the create revision of the ownership key. A failure to
	// read it leaves the grant without a token, never a wrong one.
	c.owners[key] = owner
	g := targets.Grant{}
	if r, err := c.cli.Get(ctx, string(owner)); err == nil && len(r.Kvs) == 1 {
		tok := r.Kvs[0].CreateRevision
		g.Token = &tok
	}
	return g, nil
}

// revokeNow stops using the session and revokes its lease at once,
// reporting whether the revoke went through.
func (c *etcdLockAPIClient) revokeNow(sess *concurrency.Session) bool {
	c.sess = nil
	sess.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.cli.Revoke(ctx, sess.Lease())
	return err == nil || errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseNotFound)
}

// Release deletes the ownership key, which is all the Lock service's
// Unlock does; guarded by the key's existence, so that the answer tells a
// release from a lease that had expired (Unlock answers the same in both
// cases).
func (c *etcdLockAPIClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner, ok := c.owners[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.node, key)
	}
	delete(c.owners, key)
	k := string(owner)
	return c.deleteOwn(ctx, key, k, clientv3.Compare(clientv3.CreateRevision(k), ">", 0))
}
