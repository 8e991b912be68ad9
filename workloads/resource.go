package workloads

import (
	"errors"
	"fmt"
	"sync"
)

// ErrStaleToken is returned by a fenced resource for a write whose token is
// lower than the highest token it has accepted for that key.
var ErrStaleToken = errors.New("stale token")

// Resource is the trusted shared resource that lock holders touch: a
// register per key, kept in the harness, so that its own behaviour is never
// in doubt. With fencing on, it rejects a write whose token is lower than
// the highest it has accepted for the key (Kleppmann, "How to do distributed
// locking", 2016). Writes without a token are accepted, since a target
// without tokens cannot be fenced.
type Resource struct {
	mu       sync.Mutex
	fencing  bool
	values   map[string]int64
	maxToken map[string]int64
}

// NewResource returns an empty resource.
func NewResource(fencing bool) *Resource {
	return &Resource{fencing: fencing, values: map[string]int64{}, maxToken: map[string]int64{}}
}

// Read returns the value of key (0 if never written).
func (r *Resource) Read(key string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.values[key]
}

// Write sets key to v. With fencing on and a token given, a token lower than
// the highest accepted one is rejected with ErrStaleToken.
func (r *Resource) Write(key string, token *int64, v int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admitLocked(key, token); err != nil {
		return err
	}
	r.values[key] = v
	return nil
}

// Apply runs fn on the value of key under the resource's lock, after the
// fencing check, and stores the value it returns. Workloads use it for
// read-modify-write steps that the resource itself makes atomic (a unique
// constraint, a conditional update).
func (r *Resource) Apply(key string, token *int64, fn func(old int64) (int64, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admitLocked(key, token); err != nil {
		return err
	}
	v, err := fn(r.values[key])
	if err != nil {
		return err
	}
	r.values[key] = v
	return nil
}

func (r *Resource) admitLocked(key string, token *int64) error {
	if !r.fencing || token == nil {
		return nil
	}
	if max, seen := r.maxToken[key]; seen && *token < max {
		return fmt.Errorf("%w %d < %d", ErrStaleToken, *token, max)
	}
	r.maxToken[key] = *token
	return nil
}
