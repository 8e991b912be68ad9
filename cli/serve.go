package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/reports"
	"github.com/lockstorm/lockstorm/store"
)

// serveTimeouts bound every connection of `lockstorm serve`, so that a
// client that is slow, stalls, or keeps an idle connection open cannot
// hold the server's resources for good.
type serveTimeouts struct {
	// ReadHeader and Read bound reading a request (its headers, and all
	// of it): a request is a GET with no body.
	ReadHeader, Read time.Duration
	// Write bounds sending a response: the largest report page is 16 MB.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request.
	Idle time.Duration
}

var defaultServeTimeouts = serveTimeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 2 * time.Minute, Idle: time.Minute}

// newHTTPServer is the server of `lockstorm serve`: h under the timeouts t.
func newHTTPServer(h http.Handler, t serveTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// warnIfExposed writes a warning to w when addr, the address listened on,
// is not a loopback address: everyone who can reach it can read the store.
func warnIfExposed(w io.Writer, addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return
	}
	where := "a non-loopback address"
	if tcp.IP.IsUnspecified() {
		where = "every interface"
	}
	fmt.Fprintf(w, "lockstorm: warning: serving on %s (%s): anyone who can reach this machine can read the store; use --addr 127.0.0.1:PORT to keep it local\n", addr, where)
}

func newServeCmd() *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "serve [STORE]",
		Short: "Browse the store's runs and campaigns over HTTP (read-only, loopback by default)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr("serve takes at most one STORE directory")
			}
			if len(args) == 1 && strings.TrimSpace(args[0]) == "" {
				return usageErr("serve: the STORE directory is empty: name one, or leave it out for ./store")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := store.DefaultDir
			if len(args) == 1 {
				dir = args[0]
			}
			if st, err := os.Stat(dir); err != nil {
				return usageErr("serve: %s is not a store directory: %s", dir, store.Problem(dir, err))
			} else if !st.IsDir() {
				return usageErr("serve: %s is not a store directory", dir)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErr("serve --addr %s: %v", addr, err)
			}
			warnIfExposed(cmd.ErrOrStderr(), ln.Addr())
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s at http://%s/ (Ctrl-C to stop)\n", dir, ln.Addr())
			srv := newHTTPServer(reports.Serve(dir), defaultServeTimeouts)
			go func() {
				<-cmd.Context().Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (a non-loopback address exposes the store, with a warning)")
	return c
}
