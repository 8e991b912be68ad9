package inmemory

import (
	"context"
	"fmt"
	"sync"

	"github.com/lockstorm/lockstorm/targets"
)

// memStore is the in-memory target's store: one table in the harness that
// every "server" shares, as the chapter's servers share one database.
type memStore struct {
	mu    sync.Mutex
	stock map[string]memStock
}

type memStock struct{ n, version int64 }

// NewStore implements targets.Stocker.
func (m *Service) NewStore(context.Context, targets.ClientEnv) (targets.Store, error) {
	m.storeOnce.Do(func() { m.store = &memStore{stock: map[string]memStock{}} })
	return memStoreClient{m.store}, nil
}

// Decrements implements targets.Stocker.
func (*Service) Decrements() bool { return true }

type memStoreClient struct{ s *memStore }

func (c memStoreClient) Put(_ context.Context, key string, n int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.stock[key] = memStock{n: n, version: c.s.stock[key].version + 1}
	return nil
}

func (c memStoreClient) Get(_ context.Context, key string) (int64, int64, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st, ok := c.s.stock[key]
	if !ok {
		return 0, 0, targets.NoEffect(fmt.Errorf("no stock for %s", key))
	}
	return st.n, st.version, nil
}

func (c memStoreClient) Set(_ context.Context, key string, n int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.stock[key] = memStock{n: n, version: c.s.stock[key].version + 1}
	return nil
}

func (c memStoreClient) SetIf(_ context.Context, key string, n, version int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.stock[key]
	if st.version != version {
		return targets.ErrConflict
	}
	c.s.stock[key] = memStock{n: n, version: version + 1}
	return nil
}

func (c memStoreClient) Decrement(_ context.Context, key string) (int64, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.stock[key]
	if st.n <= 0 {
		return st.n, targets.ErrOutOfStock
	}
	c.s.stock[key] = memStock{n: st.n - 1, version: st.version + 1}
	return st.n - 1, nil
}

func (memStoreClient) Close() error { return nil }
