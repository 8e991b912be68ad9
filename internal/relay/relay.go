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
	"strconv"
	"syscall"
	"time"
)

// Announce is the first line the relay prints on its standard output:
// "lockstorm-relay <port>".
const Announce = "lockstorm-relay"

// Run listens on addr (port 0 picks one), announces the port on out,
// accepts one connection, and starts cmd with the connection itself as its
// standard input and output (its standard error is the relay's): the
// process reads and writes the socket with no copy in between. It writes
// the process's id, which is its process group's id too, to pidFile, and
// returns when the process has exited, with its exit status as the error.
// The harness ends the process by closing its side of the connection (end
// of input), or by signals to the group.
func Run(ctx context.Context, addr, pidFile string, cmd []string, out io.Writer) error {
	if len(cmd) == 0 {
		return errors.New("relay: no command")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := fmt.Fprintf(out, "%s %d\n", Announce, port); err != nil {
		return err
	}
	conn, err := accept(ctx, ln, time.Minute)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return errors.New("relay: not a TCP connection")
	}
	_ = tc.SetNoDelay(true)
	sock, err := tc.File()
	tc.Close() // the process holds the socket from here on
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

// accept waits up to timeout for one connection.
func accept(ctx context.Context, ln net.Listener, timeout time.Duration) (net.Conn, error) {
	if tl, ok := ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(timeout))
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	return ln.Accept()
}
