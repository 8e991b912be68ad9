package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockstorm/lockstorm/targets"
)

// The store of the etcd targets, for the contention workload: the stock
// in etcd keys.

// etcdStockPrefix holds the stock keys, apart from the lock keys.
const etcdStockPrefix = "/lockstorm-stock/"

// etcdStore keeps each item's stock in an etcd key; its version is the
// key's mod revision, which a transaction compares.
type etcdStore struct{ cli *clientv3.Client }

// NewStore implements targets.Stocker: a clientv3 client of the client's node.
func (e *members) NewStore(_ context.Context, env targets.ClientEnv) (targets.Store, error) {
	addr, err := env.Plan.Addr(env.Node, etcdClientPort)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	cli, err := clientv3.New(etcdClientConfig("http://" + addr))
	if err != nil {
		return nil, fmt.Errorf("etcd client of %s: %w", env.Node, err)
	}
	return etcdStore{cli}, nil
}

// Decrements implements targets.Stocker: etcd has no arithmetic on the server.
func (*members) Decrements() bool { return false }

func (s etcdStore) Put(ctx context.Context, key string, n int64) error {
	_, err := s.cli.Put(ctx, etcdStockPrefix+key, strconv.FormatInt(n, 10))
	return err
}

func (s etcdStore) Get(ctx context.Context, key string) (int64, int64, error) {
	resp, err := s.cli.Get(ctx, etcdStockPrefix+key)
	if err != nil {
		return 0, 0, err
	}
	if len(resp.Kvs) == 0 {
		return 0, 0, targets.NoEffect(fmt.Errorf("no stock for %s", key))
	}
	kv := resp.Kvs[0]
	n, err := targets.ParseStock(key, kv.Value)
	return n, kv.ModRevision, err
}

func (s etcdStore) Set(ctx context.Context, key string, n int64) error {
	_, err := s.cli.Put(ctx, etcdStockPrefix+key, strconv.FormatInt(n, 10))
	return err
}

func (s etcdStore) SetIf(ctx context.Context, key string, n, version int64) error {
	k := etcdStockPrefix + key
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", version)).
		Then(clientv3.OpPut(k, strconv.FormatInt(n, 10))).
		Commit()
	switch {
	case err != nil:
		return err
	case !resp.Succeeded:
		return targets.ErrConflict
	}
	return nil
}

func (etcdStore) Decrement(context.Context, string) (int64, error) {
	return 0, errors.ErrUnsupported
}

func (s etcdStore) Close() error { return s.cli.Close() }
