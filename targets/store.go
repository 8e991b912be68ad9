package targets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// NoEffect wraps err as an error that proves the call changed nothing
// (ErrNoEffect).
func NoEffect(err error) error { return fmt.Errorf("%w: %w", ErrNoEffect, err) }

// ParseStock reads a stock value that a store keeps as decimal text; a
// value that is not a number is an error of no effect.
func ParseStock(key string, b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, NoEffect(fmt.Errorf("stock of %s is %q, not a number", key, b))
	}
	return n, nil
}
