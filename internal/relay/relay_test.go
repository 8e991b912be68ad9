package relay

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRelay runs the relay with `cat` as its client (it echoes what it
// reads) and returns the announced words and Run's result.
func startRelay(t *testing.T, socket string) ([]string, chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), "127.0.0.1:0", socket, filepath.Join(t.TempDir(), "pid"), []string{"cat"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("announce: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != Announce {
		t.Fatalf("announced %q", line)
	}
	return f, done
}

// echo sends a line on conn and wants it back, then ends the input, which
// ends the client and the relay.
func echo(t *testing.T, conn net.Conn, done chan error) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("{\"type\":\"init\"}\n")); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || got != "{\"type\":\"init\"}\n" {
		t.Fatalf("echo %q, %v", got, err)
	}
	conn.(interface{ CloseWrite() error }).CloseWrite()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relay did not end with its client")
	}
}

// With a socket path, the relay announces the socket's name beside its
// port, and a harness that connects there talks to the client itself; the
// socket file is gone once the connection is taken.
func TestRelayHandsAUnixSocketConnectionToItsClient(t *testing.T) {
	dir, err := os.MkdirTemp("", "ls-relay-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "p1.sock")
	f, done := startRelay(t, socket)
	if len(f) != 3 || f[2] != "p1.sock" {
		t.Fatalf("announced %q, want the port and p1.sock", f)
	}
	if st, err := os.Stat(socket); err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("socket %v, %v: want one that any user may connect to", st, err)
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echo(t, conn, done)
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there: %v", err)
	}
}

// Without one, or for a harness that cannot see it, TCP does.
func TestRelayHandsATCPConnectionToItsClient(t *testing.T) {
	for _, withSocket := range []bool{false, true} {
		socket := ""
		if withSocket {
			dir, err := os.MkdirTemp("", "ls-relay-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			socket = filepath.Join(dir, "p2.sock")
		}
		f, done := startRelay(t, socket)
		conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", f[1]))
		if err != nil {
			t.Fatal(err)
		}
		echo(t, conn, done)
		conn.Close()
	}
}
