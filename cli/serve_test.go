package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestServeWarnsOnAnAddressThatIsNotLoopback(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want string // "" for no warning
	}{
		{"127.0.0.1", ""},
		{"127.0.0.2", ""},
		{"::1", ""},
		{"0.0.0.0", "every interface"},
		{"::", "every interface"},
		{"192.168.1.10", "a non-loopback address"},
	} {
		var w bytes.Buffer
		addr := &net.TCPAddr{IP: net.ParseIP(c.ip), Port: 8080}
		warnIfExposed(&w, addr)
		switch {
		case c.want == "" && w.Len() > 0:
			t.Errorf("%s: warned %q", c.ip, w.String())
		case c.want != "" && (!strings.Contains(w.String(), "warning: serving on "+addr.String()) || !strings.Contains(w.String(), c.want)):
			t.Errorf("%s: warning %q; want it to name %s and say %q", c.ip, w.String(), addr, c.want)
		}
	}
}

// serveFor starts newHTTPServer on loopback with the timeouts t.
func serveFor(t *testing.T, tm serveTimeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), tm)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn within d.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	return err == nil // EOF: the server closed it; a timeout is an error
}

func TestServeClosesIdleAndStalledConnections(t *testing.T) {
	tm := serveTimeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	addr := serveFor(t, tm)
	// An idle keep-alive connection, after one request.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v", err)
	}
	resp.Body.Close()
	if !closedWithin(t, conn, 3*time.Second) {
		t.Error("an idle keep-alive connection was not closed")
	}
	// A client that sends half a request and stalls.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\n")
	if !closedWithin(t, slow, 3*time.Second) {
		t.Error("a stalled request was not closed")
	}
	d := defaultServeTimeouts
	if d.ReadHeader <= 0 || d.Read <= 0 || d.Write <= 0 || d.Idle <= 0 {
		t.Errorf("serve runs without some timeout: %+v", d)
	}
}

func TestServeOnLoopbackServesTheStoreWithoutAWarningAndStopsWithItsContext(t *testing.T) {
	outR, outW := io.Pipe()
	var errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"serve", "--addr", "127.0.0.1:0", t.TempDir()}, outW, &errOut)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	url := regexp.MustCompile(`http://\S+/`).FindString(line)
	if err != nil || url == "" {
		t.Fatalf("serve printed no address: %q %v", line, err)
	}
	go io.Copy(io.Discard, outR)
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET %s: %v", url, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop with its context")
	}
	if strings.Contains(errOut.String(), "warning") {
		t.Errorf("warned on loopback: %s", errOut.String())
	}
}
