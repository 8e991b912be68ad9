package redis

import (
	"context"
	"sync"
	"time"

	redsyncredis "github.com/go-redsync/redsync/v4/redis"
)

// redsync (v4.18.1) folds the per-node outcomes of a lock attempt into one
// error, and keeps only the last try's error. That is not enough to tell a
// certain "not acquired" from an unknown one: a node whose SET NX timed out
// may have set the key. So each node's pool is wrapped, and the wrapper
// counts what every node answered during one LockContext or UnlockContext
// call. redsync itself is unchanged and still decides.

// redlockPhase says which redsync call the observer is watching.
type redlockPhase int

const (
	redlockIdle redlockPhase = iota
	redlockLocking
	redlockUnlocking
)

// A redlockObserver counts per-node outcomes for one client. A client has
// at most one call outstanding, so one observer serves all its pools.
type redlockObserver struct {
	nodes  int
	quorum int

	mu    sync.Mutex
	phase redlockPhase
	// While locking: the outcomes of the current try. redsync sends
	// exactly one SET NX per node per try and waits for all of them, so
	// every nodes-th answer closes a try.
	tryOK, tryUnsure, tryAnswers int
	tries                        int
	// mayHold is set when some try could have taken a quorum (certain plus
	// unknown sets reached it) without redsync reporting success.
	mayHold bool
	// While unlocking: nodes that certainly deleted our value, and nodes
	// whose answer is unknown.
	released, relUnsure int
}

func (o *redlockObserver) begin(p redlockPhase) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phase = p
	o.tryOK, o.tryUnsure, o.tryAnswers, o.tries = 0, 0, 0, 0
	o.mayHold = false
	o.released, o.relUnsure = 0, 0
}

// endLock returns whether a quorum of SETs may have taken effect in a try,
// and how many tries were made.
func (o *redlockObserver) endLock() (mayHold bool, tries int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phase = redlockIdle
	return o.mayHold, o.tries
}

// endUnlock returns how many nodes certainly released and how many are
// unknown.
func (o *redlockObserver) endUnlock() (released, unsure int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phase = redlockIdle
	return o.released, o.relUnsure
}

func (o *redlockObserver) setNX(ok bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.phase != redlockLocking {
		return
	}
	switch {
	case err == nil && ok:
		o.tryOK++
	case err != nil && !redisNoEffect(err):
		o.tryUnsure++
	}
	o.tryAnswers++
	if o.tryAnswers == o.nodes {
		o.tries++
		if o.tryOK+o.tryUnsure >= o.quorum {
			o.mayHold = true
		}
		o.tryOK, o.tryUnsure, o.tryAnswers = 0, 0, 0
	}
}

func (o *redlockObserver) eval(reply any, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.phase != redlockUnlocking {
		return
	}
	switch {
	case err == nil:
		if n, ok := reply.(int64); ok && n == 1 {
			o.released++
		}
	case !redisNoEffect(err):
		o.relUnsure++
	}
}

// redlockPool wraps one node's redsync pool to report to an observer.
type redlockPool struct {
	inner redsyncredis.Pool
	obs   *redlockObserver
}

func (p redlockPool) Get(ctx context.Context) (redsyncredis.Conn, error) {
	c, err := p.inner.Get(ctx)
	if err != nil {
		return nil, err
	}
	return redlockConn{Conn: c, obs: p.obs}, nil
}

// redlockConn reports SET NX and script answers; the other methods pass
// through.
type redlockConn struct {
	redsyncredis.Conn
	obs *redlockObserver
}

func (c redlockConn) SetNX(name, value string, expiry time.Duration) (bool, error) {
	ok, err := c.Conn.SetNX(name, value, expiry)
	c.obs.setNX(ok, err)
	return ok, err
}

func (c redlockConn) Eval(script *redsyncredis.Script, keysAndArgs ...any) (any, error) {
	v, err := c.Conn.Eval(script, keysAndArgs...)
	c.obs.eval(v, err)
	return v, err
}
