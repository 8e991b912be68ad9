package natskv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// natsBinding is the Go binding of nats-kv.
type natsBinding struct{}

// NewClient returns a client connected to its node first; the NATS client
// moves to another server when that one goes, as NATS clients do.
func (natsBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	first, err := p.Addr(env.Node, natsPort)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	urls := []string{"nats://" + first}
	for _, node := range p.NodeNames() {
		if node != env.Node {
			a, _ := p.Addr(node, natsPort)
			urls = append(urls, "nats://"+a)
		}
	}
	return &natsClient{urls: strings.Join(urls, ","), node: env.Node, wait: p.Wait, plan: p,
		id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), held: map[string]uint64{}}, nil
}

// natsClient connects lazily, so that a client can be made while its
// server is down.
type natsClient struct {
	urls string
	node string // the node assigned; Node names the one connected to
	plan *plan.Plan
	wait time.Duration
	id   string

	mu   sync.Mutex
	nc   *nats.Conn
	kv   jetstream.KeyValue
	st   jetstream.Stream  // the bucket's stream, to read a key's delete marker
	held map[string]uint64 // lock key -> revision of our put
	done bool
}

// bucket returns the bucket, connecting first if needed. Connecting
// changes no lock.
func (c *natsClient) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if c.done {
		return nil, errors.New("nats client closed")
	}
	if c.kv != nil {
		return c.kv, nil
	}
	nc, err := nats.Connect(c.urls, nats.Timeout(2*time.Second), nats.DontRandomize(),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	kv, err := js.KeyValue(ctx, natsBucket)
	if err != nil {
		nc.Close()
		return nil, err
	}
	st, err := js.Stream(ctx, "KV_"+natsBucket)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.nc, c.kv, c.st = nc, kv, st
	return kv, nil
}

// Acquire creates the key, retrying while it exists until the wait runs
// out. A put that got no answer may have been stored: unknown.
func (c *natsClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(c.wait)
	backoff := 2 * time.Millisecond
	for attempts := 1; ; attempts++ {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		_, err := c.bucket(cctx)
		if err == nil {
			var rev uint64
			var out pubOutcome
			rev, out, err = create(cctx, bucketStore{c.kv, c.st}, natsKey(key), []byte(c.id))
			cancel()
			switch out {
			case pubStored:
				c.held[key] = rev
				tok := int64(rev)
				return targets.Grant{Token: &tok}, nil
			case pubUnknown:
				return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
			}
			// pubConflict, pubNoResponse: nothing stored; try again.
		} else {
			cancel()
		}
		if !time.Now().Add(backoff).Before(deadline) || ctx.Err() != nil {
			return targets.Grant{}, fmt.Errorf("%w: %s busy for %s (%d attempts): %v", targets.ErrNotAcquired, key, c.wait, attempts, err)
		}
		if !wait.Sleep(ctx, backoff) {
			return targets.Grant{}, fmt.Errorf("%w: %s busy until the call ended", targets.ErrNotAcquired, key)
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// pubOutcome is what one conditional publish to the bucket (an Update or
// Delete with an expected last revision) did, as far as its error tells.
type pubOutcome int

const (
	pubStored     pubOutcome = iota // no error: stored
	pubConflict                     // the stream answered "wrong last sequence": not stored
	pubNoResponse                   // no server took the message (only "no responders"): not stored
	pubUnknown                      // anything else: it may have been stored
)

// classifyPublish classifies the error of one kv.Update or kv.Delete.
// nats.go v1.55.0 sends such a publish again only after a "no responders"
// status (jetstream/publish.go:281), which the server the client is
// connected to sends only when it handed the message to no one; so a
// "wrong last sequence" answer is the answer to the one attempt that
// reached the stream, and none before it was stored (docs/targets.md,
// nats-kv). A timeout, a lost connection, a garbled ack or any other
// server error leaves the outcome unknown.
func classifyPublish(err error) pubOutcome {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return pubStored
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
		return pubConflict
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return pubNoResponse
	}
	return pubUnknown
}

// keyStore is what create needs of the bucket.
type keyStore interface {
	// Update publishes value if the key's last revision is revision (0:
	// the key has no message).
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	// LastMsg reads the key's last message, a value or a delete marker.
	LastMsg(ctx context.Context, key string) (*jetstream.RawStreamMsg, error)
}

// bucketStore is the keyStore of a bucket and its stream.
type bucketStore struct {
	kv jetstream.KeyValue
	st jetstream.Stream
}

func (b bucketStore) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	return b.kv.Update(ctx, key, value, revision)
}

func (b bucketStore) LastMsg(ctx context.Context, key string) (*jetstream.RawStreamMsg, error) {
	return b.st.GetLastMsgForSubject(ctx, "$KV."+natsBucket+"."+key)
}

// create does what nats.go's kv.Create does (a put expecting no message on
// the key, then, if the key's last message is a delete marker, a put
// expecting that marker's revision), but classifies each publish on its
// own: kv.Create tries the second put after any error of the first, a
// timeout included, and returns only the second's error, so a first put
// that was stored and a second that then found it ("wrong last sequence",
// which matches jetstream.ErrKeyExists) would read as "busy". Here an
// unknown outcome ends the attempt as unknown. It returns pubConflict or
// pubNoResponse when nothing was stored (the key is taken, or was for a
// moment); err says why.
func create(ctx context.Context, s keyStore, key string, value []byte) (uint64, pubOutcome, error) {
	rev, err := s.Update(ctx, key, value, 0)
	if out := classifyPublish(err); out != pubConflict {
		return rev, out, err
	}
	m, gerr := s.LastMsg(ctx, key)
	if gerr != nil {
		// Nothing was stored; the key aged out since, or the read
		// failed: the caller tries again.
		return 0, pubConflict, fmt.Errorf("%w (then reading the key: %v)", err, gerr)
	}
	if !isDeleteMarker(m.Header) {
		return 0, pubConflict, fmt.Errorf("%w: key exists at revision %d", err, m.Sequence)
	}
	rev, err = s.Update(ctx, key, value, m.Sequence)
	return rev, classifyPublish(err), err
}

// isDeleteMarker tells a delete or purge marker from a value, as nats.go's
// kv.get does (jetstream/kv.go:964-983): a KV-Operation of DEL or PURGE,
// or a marker the server wrote (Nats-Marker-Reason).
func isDeleteMarker(h nats.Header) bool {
	if op := h.Get("KV-Operation"); op != "" {
		return op == "DEL" || op == "PURGE"
	}
	switch h.Get(jetstream.MarkerReasonHeader) {
	case "MaxAge", "Purge", "Remove":
		return true
	}
	return false
}

// natsKey is the bucket key of a lock key (letters, digits, - _ / = .).
func natsKey(key string) string {
	return "lock." + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, key)
}

// Release deletes the key if its last revision is still our put's: a key
// that aged out or changed hands is not ours to delete.
func (c *natsClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.id, key)
	}
	delete(c.held, key)
	kv, err := c.bucket(ctx)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	err = kv.Delete(ctx, natsKey(key), jetstream.LastRevision(rev))
	switch classifyPublish(err) {
	case pubStored:
		return nil
	case pubConflict:
		return fmt.Errorf("%w: %s is no longer at revision %d (aged out or taken)", targets.ErrNotHeld, key, rev)
	}
	// pubNoResponse: nothing was stored, but not because the lock was not
	// held (ErrNotHeld says that): the key stays until its TTL, so the
	// release is left indeterminate, as any other error.
	return fmt.Errorf("release %s: %w", key, err)
}

// Node names the server the client is connected to, or the one it was
// assigned while it is not.
func (c *natsClient) Node() string {
	c.mu.Lock()
	nc := c.nc
	c.mu.Unlock()
	if nc != nil {
		if host, _, err := net.SplitHostPort(nc.ConnectedAddr()); err == nil {
			if n, ok := c.plan.NodeByIP(host); ok {
				return n
			}
		}
	}
	return c.node
}

// Abandon closes the connection; the keys stay until they age out.
func (c *natsClient) Abandon() { _ = c.Close() }

// Close closes the connection; nothing is deleted.
func (c *natsClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.nc != nil {
		c.nc.Close()
	}
	return nil
}
