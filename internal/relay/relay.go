// Package relay runs a client process in a client container behind a TCP
// port: the harness talks to the process over the run's network, which is
// many times faster than the container runtime's attached streams, while
// the process itself still speaks the protocol on its standard input and
// output. The process runs in a process group of its own, whose id is
// written to a file, so that the harness can stop, resume and kill it
// whole.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Announce is the first word of the first line the relay prints on its
// standard output: "lockstorm-relay <port>", or "lockstorm-relay <port>
// <socket>" when it also listens on a Unix socket.
const Announce = "lockstorm-relay"

// Run listens on the TCP address addr (port 0 picks one) and, if
// socketPath is not empty, on a Unix socket at that path too; announces
// them on out; accepts one connection on either; and starts cmd with the
// connection itself as its standard input and output (its standard error
// is the relay's): the process reads and writes the socket with no copy in
// between. A harness that sees the socket's directory (a directory of its
// machine mounted into the container) connects there, with no network in
// between; any other harness connects over TCP. Run writes the process's
// id, which is its process group's id too, to pidFile, and returns when
// the process has exited, with its exit status as the error. The harness
// ends the process by closing its side of the connection (end of input),
// or by signals to the group.
func Run(ctx context.Context, addr, socketPath, pidFile string, cmd []string, out io.Writer) error {
	if len(cmd) == 0 {
		return errors.New("relay: no command")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{ln}
	announce := fmt.Sprintf("%s %d", Announce, port)
	if socketPath != "" {
		// Without the socket (a directory this container may not write,
		// under a user namespace, say), TCP serves alone.
		if uln, err := listenUnix(socketPath); err != nil {
			fmt.Fprintf(os.Stderr, "lockstorm relay: no Unix socket, TCP only: %v\n", err)
		} else {
			defer uln.Close()
			lns = append(lns, uln)
			announce += " " + filepath.Base(socketPath)
		}
	}
	if _, err := fmt.Fprintln(out, announce); err != nil {
		return err
	}
	conn, err := accept(ctx, lns, time.Minute)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	var sock *os.File
	switch c := conn.(type) {
	case *net.TCPConn:
		_ = c.SetNoDelay(true)
		sock, err = c.File()
	case *net.UnixConn:
		sock, err = c.File()
	default:
		err = fmt.Errorf("a %T connection", conn)
	}
	conn.Close() // the process holds the socket from here on
	if socketPath != "" {
		_ = os.Remove(socketPath)
	}
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = sock, sock, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = c.Start()
	sock.Close()
	if err != nil {
		return fmt.Errorf("relay: start %s: %w", cmd[0], err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(c.Process.Pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("relay: %w", err)
	}
	err = c.Wait()
	_ = os.Remove(pidFile)
	return err
}

// listenUnix listens on a Unix socket at path that any user may connect
// to: the harness may run as another user than the relay.
func listenUnix(path string) (net.Listener, error) {
	_ = os.Remove(path) // a socket a killed relay left
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// accept waits up to timeout for the first connection on any of lns.
func accept(ctx context.Context, lns []net.Listener, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		conn net.Conn
		err  error
	}
	got := make(chan result, len(lns))
	for _, ln := range lns {
		go func() {
			c, err := ln.Accept()
			got <- result{c, err}
		}()
	}
	var first result
	pending := len(lns)
	select {
	case first = <-got:
		pending--
	case <-ctx.Done():
		first.err = fmt.Errorf("no connection: %w", ctx.Err())
	}
	// Closing the listeners ends the other accepts; a connection that
	// came in on another one at the same moment is closed.
	for _, ln := range lns {
		ln.Close()
	}
	for range pending {
		if r := <-got; r.conn != nil {
			r.conn.Close()
		}
	}
	if first.err != nil {
		if first.conn != nil {
			first.conn.Close()
		}
		return nil, first.err
	}
	return first.conn, nil
}
