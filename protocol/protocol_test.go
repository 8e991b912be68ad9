package protocol

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/targets"
)

func TestParseReplyRefusesWhatIsNotAReply(t *testing.T) {
	good := []string{
		`{"id":1,"type":"init_ok"}`,
		`{"id":2,"type":"ok","token":7,"node":"n2"}`,
		`{"id":3,"type":"error","error":"busy","definite":true}`,
		`  {"id":4,"type":"error","error":"timeout"}  `,
	}
	for _, l := range good {
		if _, err := ParseReply([]byte(l)); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
	bad := []string{
		`hello`,
		`{"id":1,"type":"ok","tokn":7}`,
		`{"id":1,"type":"yes"}`,
		`{"id":1,"type":"error"}`,
		`{"id":1,"type":"ok"} {"id":2,"type":"ok"}`,
		`{"id":"1","type":"ok"}`,
		``,
	}
	for _, l := range bad {
		if _, err := ParseReply([]byte(l)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", l, err)
		}
	}
}

// fakePeer is a test double of a client process: it answers each request
// line with what answer returns ("" for no answer).
func fakePeer(t *testing.T, answer func(Request) string) (*Conn, func()) {
	t.Helper()
	harness, peer := net.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer peer.Close()
		sc := bufio.NewScanner(peer)
		for sc.Scan() {
			req, err := ParseRequest(sc.Bytes())
			if err != nil {
				t.Errorf("the harness sent %q: %v", sc.Text(), err)
				return
			}
			if a := answer(req); a != "" {
				io.WriteString(peer, a+"\n")
			}
		}
	})
	c := NewConn("fake client", harness, "n1")
	return c, func() { harness.Close(); wg.Wait() }
}

func TestConnMapsRepliesToOutcomes(t *testing.T) {
	c, stop := fakePeer(t, func(r Request) string {
		switch {
		case r.Type == TypeInit:
			if r.Process != 3 || r.Target != "redis" || r.LeaseMillis != 2000 {
				return `{"id":1,"type":"error","error":"bad init"}`
			}
			return `{"id":1,"type":"init_ok"}`
		case r.Key == "busy":
			return `{"id":` + itoa(r.ID) + `,"type":"error","error":"busy for 2s","definite":true}`
		case r.Key == "lost":
			return `{"id":` + itoa(r.ID) + `,"type":"error","error":"connection reset"}`
		case r.Type == TypeAcquire:
			return `{"id":` + itoa(r.ID) + `,"type":"ok","token":42,"node":"n3"}`
		case r.Key == "expired":
			return `{"id":` + itoa(r.ID) + `,"type":"error","error":"not held","definite":true}`
		}
		return `{"id":` + itoa(r.ID) + `,"type":"ok"}`
	})
	defer stop()
	ctx := context.Background()
	if err := c.Init(ctx, Init{Process: 3, Target: "redis", LeaseMillis: 2000}, time.Second); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	g, err := c.Acquire(octx, "k")
	if err != nil || g.Token == nil || *g.Token != 42 || c.Node() != "n3" {
		t.Fatalf("acquire: %+v %v node %s", g, err, c.Node())
	}
	if _, err := c.Acquire(octx, "busy"); !errors.Is(err, targets.ErrNotAcquired) {
		t.Errorf("a definite error is %v, want ErrNotAcquired", err)
	}
	if _, err := c.Acquire(octx, "lost"); err == nil || errors.Is(err, targets.ErrNotAcquired) {
		t.Errorf("an indefinite error is %v, want an unknown outcome", err)
	}
	if err := c.Release(octx, "expired"); !errors.Is(err, targets.ErrNotHeld) {
		t.Errorf("release: %v, want ErrNotHeld", err)
	}
	if err := c.Release(octx, "k"); err != nil {
		t.Errorf("release: %v", err)
	}
}

func TestConnTimeoutIsIndeterminateAndGarbageBreaksIt(t *testing.T) {
	c, stop := fakePeer(t, func(r Request) string {
		switch {
		case r.Type == TypeInit:
			return `{"id":1,"type":"init_ok"}`
		case r.Key == "slow":
			return ""
		}
		return "hello, I am a lock"
	})
	defer stop()
	ctx := context.Background()
	if err := c.Init(ctx, Init{}, time.Second); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := c.Acquire(octx, "slow")
	cancel()
	if !errors.Is(err, ErrNoReply) && !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, targets.ErrNotAcquired) {
		t.Fatalf("no reply: %v, want an indeterminate timeout", err)
	}
	octx, cancel = context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = c.Acquire(octx, "k")
	if !errors.Is(err, targets.ErrBrokenClient) || !strings.Contains(err.Error(), `"hello, I am a lock"`) {
		t.Fatalf("garbage: %v, want a broken client naming the line", err)
	}
	if c.Broken() == nil {
		t.Error("the Conn is still usable after garbage")
	}
}

// fakeLockClient is a test double of a binding's client: one key can be
// held at a time, with increasing tokens.
type fakeLockClient struct {
	held   bool
	next   int64
	closed bool
}

func (f *fakeLockClient) Acquire(context.Context, string) (targets.Grant, error) {
	if f.held {
		return targets.Grant{}, targets.ErrNotAcquired
	}
	f.held, f.next = true, f.next+1
	return targets.Grant{Token: history.Tok(f.next)}, nil
}

func (f *fakeLockClient) Release(context.Context, string) error {
	if !f.held {
		return targets.ErrNotHeld
	}
	f.held = false
	return nil
}

func (f *fakeLockClient) Node() string { return "n1" }
func (f *fakeLockClient) Abandon()     {}
func (f *fakeLockClient) Close() error { f.closed = true; return nil }

func TestServeAnswersEveryRequest(t *testing.T) {
	in := strings.Join([]string{
		`{"id":1,"type":"init","process":0,"target":"redis","node":"n1","nodes":[{"name":"n1","ip":"10.0.0.11","ports":{"redis":6379}}],"keys":["k"],"ttl_ms":2000,"lease_ms":2000,"wait_ms":2000,"op_timeout_ms":7000}`,
		`{"id":2,"type":"acquire","key":"k"}`,
		`{"id":3,"type":"acquire","key":"k"}`,
		`{"id":4,"type":"release","key":"k"}`,
		`{"id":5,"type":"release","key":"k"}`,
		`{"id":6,"type":"renew","key":"k"}`,
	}, "\n") + "\n"
	fake := &fakeLockClient{}
	var got Init
	var out bytes.Buffer
	err := Serve(context.Background(), strings.NewReader(in), &out, func(_ context.Context, i Init) (targets.Client, error) {
		got = i
		return fake, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"id":1,"type":"init_ok"}`,
		`{"id":2,"type":"ok","token":1,"node":"n1"}`,
		`{"id":3,"type":"error","node":"n1","error":"lock not acquired","definite":true}`,
		`{"id":4,"type":"ok","node":"n1"}`,
		`{"id":5,"type":"error","node":"n1","error":"lock not held","definite":true}`,
		`{"id":6,"type":"error","node":"n1","error":"renew is not supported by this client","definite":true}`,
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
	if p := got.Plan(); len(p.Nodes) != 1 || p.Nodes[0].IP != "10.0.0.11" || p.Lease != 2*time.Second || p.OpTimeout != 7*time.Second {
		t.Errorf("init as a plan: %+v", p)
	}
	if !fake.closed {
		t.Error("the client was not closed at the end of input")
	}
	for _, bad := range []string{`{"id":1,"type":"acquire","key":"k"}`, `{"id":1,"type":"lock","key":"k"}`, `{"id":1,"type":"acquire"}`} {
		if err := Serve(context.Background(), strings.NewReader(bad+"\n"), io.Discard, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", bad, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fakeCheckingClient is a fakeLockClient whose library can tell whether it
// still holds its lock; lost says what it believes.
type fakeCheckingClient struct {
	fakeLockClient
	lost bool
}

func (f *fakeCheckingClient) CanCheck() bool { return true }
func (f *fakeCheckingClient) Check(context.Context, string) error {
	if f.lost {
		return fmt.Errorf("%w: the session was suspended", targets.ErrLost)
	}
	return nil
}

func TestServeAnswersCheckOnlyForClientsThatCan(t *testing.T) {
	in := `{"id":1,"type":"init","op_timeout_ms":1000}` + "\n" + `{"id":2,"type":"check","key":"k"}` + "\n"
	serve := func(c targets.Client) string {
		var out bytes.Buffer
		if err := Serve(context.Background(), strings.NewReader(in), &out, func(context.Context, Init) (targets.Client, error) { return c, nil }); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	if got, want := serve(&fakeLockClient{}), `{"id":1,"type":"init_ok"}`+"\n"+`{"id":2,"type":"error","node":"n1","error":"check is not supported by this client"}`; got != want {
		t.Errorf("a client that cannot tell:\n%s\nwant:\n%s", got, want)
	}
	if got, want := serve(&fakeCheckingClient{}), `{"id":1,"type":"init_ok","checks":true}`+"\n"+`{"id":2,"type":"ok","node":"n1"}`; got != want {
		t.Errorf("a client that holds:\n%s\nwant:\n%s", got, want)
	}
	if got, want := serve(&fakeCheckingClient{lost: true}), `{"id":2,"type":"error","node":"n1","error":"lock lost: the session was suspended","definite":true}`; !strings.HasSuffix(got, want) {
		t.Errorf("a client that lost it:\n%s\nwant the last line:\n%s", got, want)
	}
}

func TestConnCheckTellsLostFromUnknown(t *testing.T) {
	for _, tc := range []struct {
		initOK, reply string
		can           bool
		lost, unknown bool
	}{
		{initOK: `{"id":1,"type":"init_ok"}`},
		{initOK: `{"id":1,"type":"init_ok","checks":true}`, can: true, reply: `{"id":2,"type":"ok"}`},
		{initOK: `{"id":1,"type":"init_ok","checks":true}`, can: true, reply: `{"id":2,"type":"error","error":"expired","definite":true}`, lost: true},
		{initOK: `{"id":1,"type":"init_ok","checks":true}`, can: true, reply: `{"id":2,"type":"error","error":"no idea"}`, unknown: true},
	} {
		c, stop := fakePeer(t, func(r Request) string {
			if r.Type == TypeInit {
				return tc.initOK
			}
			return tc.reply
		})
		if err := c.Init(context.Background(), Init{}, time.Second); err != nil {
			t.Fatal(err)
		}
		if c.CanCheck() != tc.can {
			t.Errorf("%s: CanCheck = %v", tc.initOK, c.CanCheck())
		}
		if tc.can {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := c.Check(ctx, "k")
			cancel()
			switch {
			case tc.lost && !errors.Is(err, targets.ErrLost):
				t.Errorf("%s: %v, want ErrLost", tc.reply, err)
			case tc.unknown && (err == nil || errors.Is(err, targets.ErrLost)):
				t.Errorf("%s: %v, want an error that is not a loss", tc.reply, err)
			case !tc.lost && !tc.unknown && err != nil:
				t.Errorf("%s: %v", tc.reply, err)
			}
		}
		stop()
	}
}

// A client that exits before it reads init closes its end of the relay
// with the request unread, and the kernel resets the connection rather
// than closing it: that is the client's output ending too, not an I/O
// error of the harness.
func TestConnResetBeforeInitIsClientGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		peer, err := ln.Accept()
		if err != nil {
			return
		}
		// Wait for the request, leave it unread and reset.
		time.Sleep(100 * time.Millisecond)
		peer.(*net.TCPConn).SetLinger(0)
		peer.Close()
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := NewConn("crashing client", nc.(*net.TCPConn), "n1")
	err = c.Init(context.Background(), Init{Process: 1}, 5*time.Second)
	if !errors.Is(err, ErrGone) {
		t.Fatalf("init against a reset connection: %v, want ErrGone", err)
	}
}
