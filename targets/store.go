package targets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// ErrOutOfStock is returned by Store.Decrement when the stock is zero: the
// store certainly did not change it.
var ErrOutOfStock = errors.New("out of stock")

// ErrConflict is returned by Store.SetIf when the stock changed since it
// was read: the store certainly did not write.
var ErrConflict = errors.New("conflict: the stock changed since it was read")

// ErrNoEffect is wrapped by Store errors that prove the call changed
// nothing (the request never reached the server, or the server refused
// it). Any other error of a write may hide a write that took effect.
var ErrNoEffect = errors.New("no effect")

// A Stocker is a service whose own data store can keep an item's stock,
// for the contention workload: the chapter's inventory (7.2.2) deducted
// under the lock, optimistically with a conditional write, and, where the
// store has one, with an atomic decrement. The stock lives in the real
// service (a Redis key, an etcd key, a PostgreSQL row, a znode), not in
// the harness.
type Stocker interface {
	// NewStore returns one client process's connection to the store, on
	// the node the plan assigns it.
	NewStore(ctx context.Context, env ClientEnv) (Store, error)
	// Decrements reports whether the store has an atomic decrement that
	// cannot go below zero.
	Decrements() bool
}

// A Store holds the stock of items, each a whole number, with a version
// that changes with every write.
type Store interface {
	// Put sets key's stock, before the clients start.
	Put(ctx context.Context, key string, n int64) error
	// Get reads key's stock and the version that SetIf compares.
	Get(ctx context.Context, key string) (n, version int64, err error)
	// Set writes key's stock whatever it is now: the lock way.
	Set(ctx context.Context, key string, n int64) error
	// SetIf writes n only if key's version is still version: the
	// optimistic way. ErrConflict means it certainly did not write.
	SetIf(ctx context.Context, key string, n, version int64) error
	// Decrement takes one from key's stock unless it is zero and returns
	// the stock left: the commutative way. ErrOutOfStock means it
	// certainly did not change it. Stores that cannot return
	// errors.ErrUnsupported.
	Decrement(ctx context.Context, key string) (int64, error)
	// Close releases the connection.
	Close() error
}

// StockerOf returns t's store, if it has one.
func StockerOf(t Service) (Stocker, bool) {
	s, ok := t.(Stocker)
	return s, ok
}

// noEffect wraps err as an error that proves the call changed nothing.
func noEffect(err error) error { return fmt.Errorf("%w: %w", ErrNoEffect, err) }

// parseStock reads a stock value stored as decimal text.
func parseStock(key string, b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, noEffect(fmt.Errorf("stock of %s is %q, not a number", key, b))
	}
	return n, nil
}

// memStore is the in-memory target's store: one table in the harness that
// every "server" shares, as the chapter's servers share one database.
type memStore struct {
	mu    sync.Mutex
	stock map[string]memStock
}

type memStock struct{ n, version int64 }

// NewStore implements Stocker.
func (m *InMemory) NewStore(context.Context, ClientEnv) (Store, error) {
	m.storeOnce.Do(func() { m.store = &memStore{stock: map[string]memStock{}} })
	return memStoreClient{m.store}, nil
}

// Decrements implements Stocker.
func (*InMemory) Decrements() bool { return true }

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
		return 0, 0, noEffect(fmt.Errorf("no stock for %s", key))
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
		return ErrConflict
	}
	c.s.stock[key] = memStock{n: n, version: version + 1}
	return nil
}

func (c memStoreClient) Decrement(_ context.Context, key string) (int64, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.stock[key]
	if st.n <= 0 {
		return st.n, ErrOutOfStock
	}
	c.s.stock[key] = memStock{n: st.n - 1, version: st.version + 1}
	return st.n - 1, nil
}

func (memStoreClient) Close() error { return nil }
