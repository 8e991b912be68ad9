package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// memcachedBinding is the Go binding of memcached.
type memcachedBinding struct{}

// NewClient returns a client of the one server.
func (memcachedBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	if len(p.Nodes) == 0 {
		return nil, errors.New("memcached: no nodes")
	}
	node := p.Nodes[0].Name
	addr, err := p.Addr(node, memcachedPort)
	if err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	mc := memcache.New(addr)
	mc.Timeout = 2 * time.Second
	c := &memcachedClient{mc: mc, addr: addr, node: node, wait: p.Wait, ttl: memcachedTTL(p.TTL),
		checked: memcachedReleaseOpt.Get(p.Options) == "checked", held: map[string]string{},
		id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64())}
	if kbps := memcachedFillerOpt.Get(p.Options); kbps > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		c.stopFiller, c.fillerDone = cancel, make(chan struct{})
		go c.fill(ctx, kbps)
	}
	return c, nil
}

// memcachedClient is one client: gomemcache's client and, for the checked
// release, a connection for meta commands.
type memcachedClient struct {
	mc      *memcache.Client
	addr    string
	node    string
	wait    time.Duration
	ttl     int32
	checked bool
	id      string // this client's value in the keys it holds

	mu   sync.Mutex
	held map[string]string // lock key -> our value
	meta net.Conn
	done bool

	stopFiller context.CancelFunc
	fillerDone chan struct{}
}

// fill stores rate items a second of other data, with no expiry, until
// ctx ends. memcached evicts per slab class, so an item of another size
// would only ever push out items of its own size: each filler item has a
// key and a value about as long as a lock item's, and lands in the lock
// keys' class.
func (c *memcachedClient) fill(ctx context.Context, rate int) {
	defer close(c.fillerDone)
	keyLen := len(memcachedKey("lock-0"))
	val := []byte(strings.Repeat("x", len(c.id)))
	const tick = 10 * time.Millisecond
	per, carry := rate/100, rate%100
	for i, n := 0, 0; wait.Sleep(ctx, tick); n++ {
		batch := per
		if n%100 < carry {
			batch++
		}
		for range batch {
			key := fmt.Sprintf("f%s-%d", c.id, i)
			if len(key) < keyLen {
				key += strings.Repeat("-", keyLen-len(key))
			}
			_ = c.mc.Set(&memcache.Item{Key: key, Value: val})
			i++
		}
	}
}

// definite reports whether a gomemcache error certainly changed nothing:
// the answers of the server, and a connect that failed.
func memcachedDefinite(err error) bool {
	var cte *memcache.ConnectTimeoutError
	return errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) ||
		errors.Is(err, memcache.ErrNoServers) || errors.As(err, &cte)
}

// Acquire adds the key with our value, retrying while it exists until the
// wait runs out, and reads the item's CAS unique as the token.
func (c *memcachedClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return targets.Grant{}, fmt.Errorf("%w: client closed", targets.ErrNotAcquired)
	}
	deadline := time.Now().Add(c.wait)
	backoff := 2 * time.Millisecond
	for attempts := 1; ; attempts++ {
		err := c.mc.Add(&memcache.Item{Key: memcachedKey(key), Value: []byte(c.id), Expiration: c.ttl})
		switch {
		case err == nil:
			c.held[key] = c.id
			return targets.Grant{Token: c.token(key)}, nil
		case errors.Is(err, memcache.ErrNotStored):
		case memcachedDefinite(err):
			// Nothing reached the server: try again while the wait lasts.
		default:
			return targets.Grant{}, fmt.Errorf("acquire %s: %w", key, err)
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

// token reads the item's CAS unique; a failed read, or an item that is no
// longer ours, gives no token rather than a wrong one.
func (c *memcachedClient) token(key string) *int64 {
	it, err := c.mc.Get(memcachedKey(key))
	if err != nil || string(it.Value) != c.id || it.CasID == 0 || it.CasID > 1<<63-1 {
		return nil
	}
	t := int64(it.CasID)
	return &t
}

// memcachedKey is the cache key of a lock key.
func memcachedKey(key string) string { return "lockstorm-lock:" + key }

// Release deletes the key: plainly, whoever holds it, or, checked, only if
// it still holds our value.
func (c *memcachedClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	val, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", targets.ErrNotHeld, c.id, key)
	}
	delete(c.held, key)
	if c.done {
		return fmt.Errorf("release %s: client closed", key)
	}
	if c.checked {
		return c.checkedDelete(ctx, key, val)
	}
	err := c.mc.Delete(memcachedKey(key))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrCacheMiss):
		return fmt.Errorf("%w: %s was gone (expired, evicted or deleted)", targets.ErrNotHeld, key)
	}
	return fmt.Errorf("release %s: %w", key, err)
}

// checkedDelete reads the key's value and CAS with the meta command mg,
// and deletes it with md only if the CAS is still that one. memcached has
// no "delete if the value is" in its classic commands; the meta commands
// (memcached 1.6) compare the CAS.
func (c *memcachedClient) checkedDelete(ctx context.Context, key, val string) error {
	k := memcachedKey(key)
	lines, err := c.metaCall(ctx, "mg "+k+" v c\r\n")
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	f := strings.Fields(lines[0])
	switch {
	case len(f) > 0 && f[0] == "EN":
		return fmt.Errorf("%w: %s was gone (expired, evicted or deleted)", targets.ErrNotHeld, key)
	case len(f) < 3 || f[0] != "VA" || len(lines) < 2:
		return fmt.Errorf("release %s: mg answered %q", key, lines[0])
	}
	if lines[1] != val {
		return fmt.Errorf("%w: %s is held by another client now", targets.ErrNotHeld, key)
	}
	cas := strings.TrimPrefix(f[2], "c")
	if _, err := strconv.ParseUint(cas, 10, 64); err != nil {
		return fmt.Errorf("release %s: mg answered %q", key, lines[0])
	}
	lines, err = c.metaCall(ctx, "md "+k+" C"+cas+"\r\n")
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	switch strings.TrimSpace(lines[0]) {
	case "HD":
		return nil
	case "EX", "NF":
		return fmt.Errorf("%w: %s changed hands before the delete", targets.ErrNotHeld, key)
	}
	return fmt.Errorf("release %s: md answered %q", key, lines[0])
}

// metaCall sends one meta command on the client's meta connection and
// reads its answer: one line, or, for a value (VA), the line and the data.
// An error closes the connection.
func (c *memcachedClient) metaCall(ctx context.Context, cmd string) (lines []string, err error) {
	if c.meta == nil {
		d := net.Dialer{Timeout: 2 * time.Second}
		if c.meta, err = d.DialContext(ctx, "tcp", c.addr); err != nil {
			c.meta = nil
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			c.meta.Close()
			c.meta = nil
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.meta.SetDeadline(deadline)
	if _, err := c.meta.Write([]byte(cmd)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c.meta)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	lines = []string{strings.TrimRight(line, "\r\n")}
	if strings.HasPrefix(line, "VA ") {
		data, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		lines = append(lines, strings.TrimRight(data, "\r\n"))
	}
	if r.Buffered() > 0 {
		return nil, fmt.Errorf("memcached sent more than one answer to %q", strings.TrimSpace(cmd))
	}
	return lines, nil
}

func (c *memcachedClient) Node() string { return c.node }

// Abandon stops without deleting anything: the keys stay until their TTL.
func (c *memcachedClient) Abandon() { _ = c.Close() }

// Close closes the connections; nothing is deleted.
func (c *memcachedClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.stopFiller != nil {
		c.stopFiller()
		<-c.fillerDone
	}
	if c.meta != nil {
		_ = c.meta.Close()
	}
	return c.mc.Close()
}
