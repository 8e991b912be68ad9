package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/reports"
	"github.com/lockstorm/lockstorm/store"
)

func newServeCmd() *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "serve [STORE]",
		Short: "Browse the store's runs and campaigns over HTTP (read-only, loopback by default)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr("serve takes at most one STORE directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := store.DefaultDir
			if len(args) == 1 {
				dir = args[0]
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return usageErr("serve: %s is not a store directory", dir)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErr("serve --addr %s: %v", addr, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s at http://%s/ (Ctrl-C to stop)\n", dir, ln.Addr())
			srv := &http.Server{Handler: reports.Serve(dir), ReadHeaderTimeout: 10 * time.Second}
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
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return c
}
