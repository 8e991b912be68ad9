package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/internal/hostlock"
)

// A churnLock serialises, across every lockstorm process on this host,
// the calls that stop or remove containers and networks on one engine.
// Debian's Docker Engine 20.10 can deadlock in its network code when
// containers on user-defined networks are stopped and removed at the same
// moment (moby/moby#42545, not backported there), and CI hosts run several
// jobs on one engine; one such call at a time starves that race. Each
// call holds the lock only for itself, so that processes take turns.
// The zero churnLock locks nothing.
type churnLock struct {
	path string
	// wait bounds how long a call waits for another process's turn.
	wait time.Duration
}

// newChurnLock returns the lock for the engine at host (DOCKER_HOST's
// form), whose calls wait at most timeout for an answer: a turn never
// lasts longer than two such waits, so a call waits at most three.
func newChurnLock(host string, timeout time.Duration) churnLock {
	sum := sha256.Sum256([]byte(host))
	return churnLock{
		path: hostlock.Path("", "lockstorm-engine-"+hex.EncodeToString(sum[:6])+".lock"),
		wait: 3 * timeout,
	}
}

// hold waits for this process's turn and returns the func that ends it.
func (l churnLock) hold(ctx context.Context) (func(), error) {
	if l.path == "" {
		return func() {}, nil
	}
	release, err := hostlock.Acquire(ctx, l.path, l.wait)
	if err != nil {
		return nil, fmt.Errorf("wait for the turn to stop or remove containers on this engine (another lockstorm process is at it): %w", err)
	}
	return release, nil
}
