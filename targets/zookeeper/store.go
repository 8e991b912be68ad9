package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/lockstorm/lockstorm/targets"
)

// The store of the zookeeper target, for the contention workload: the
// stock in znodes.

// zkStockDir holds the stock znodes, apart from the lock znodes.
const zkStockDir = "/lockstorm-stock"

// zkStore keeps each item's stock in a znode; its version is the znode's
// data version, which a versioned setData compares.
type zkStore struct{ conn *zk.Conn }

// NewStore implements targets.Stocker: a session with the client's node.
func (z *Service) NewStore(_ context.Context, env targets.ClientEnv) (targets.Store, error) {
	addr, err := env.Plan.Addr(env.Node, zkClientPort)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	conn, _, err := zk.Connect([]string{addr}, zkAsked(env.Plan), zk.WithLogger(zkLogger{env.Log}), zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("zookeeper client of %s: %w", env.Node, err)
	}
	return zkStore{conn}, nil
}

// Decrements implements targets.Stocker: ZooKeeper has no arithmetic on the
// server.
func (*Service) Decrements() bool { return false }

func (s zkStore) Put(_ context.Context, key string, n int64) error {
	if _, err := s.conn.Create(zkStockDir, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	data := []byte(strconv.FormatInt(n, 10))
	_, err := s.conn.Create(zkStockDir+"/"+key, data, 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = s.conn.Set(zkStockDir+"/"+key, data, -1)
	}
	return err
}

func (s zkStore) Get(_ context.Context, key string) (int64, int64, error) {
	b, st, err := s.conn.Get(zkStockDir + "/" + key)
	if err != nil {
		return 0, 0, err
	}
	n, err := targets.ParseStock(key, b)
	return n, int64(st.Version), err
}

func (s zkStore) Set(_ context.Context, key string, n int64) error {
	_, err := s.conn.Set(zkStockDir+"/"+key, []byte(strconv.FormatInt(n, 10)), -1)
	return err
}

func (s zkStore) SetIf(_ context.Context, key string, n, version int64) error {
	_, err := s.conn.Set(zkStockDir+"/"+key, []byte(strconv.FormatInt(n, 10)), int32(version))
	if errors.Is(err, zk.ErrBadVersion) {
		return targets.ErrConflict
	}
	return err
}

func (zkStore) Decrement(context.Context, string) (int64, error) {
	return 0, errors.ErrUnsupported
}

func (s zkStore) Close() error {
	s.conn.Close()
	return nil
}
