package testdocker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
)

// CIEnv is the variable that says a test runs in CI. There the Docker tests
// must run: Need fails a test that finds no engine instead of skipping it.
const CIEnv = "CI"

// PingTimeout bounds Need's ping of the engine. An engine that does not
// answer within it counts as absent: a stuck engine (moby/moby#42545) would
// hang every test otherwise.
const PingTimeout = 15 * time.Second

// engine is the outcome of the one connection of this process.
var engine struct {
	once sync.Once
	pool *dockertest.Pool
	err  error
	// connects counts the attempts, for the package's own test.
	connects int
}

// Need returns a dockertest pool on the engine that DOCKER_HOST names (the
// local socket when it is unset), for a test that needs Docker. It skips
// the test in -short mode, and when the engine cannot be reached it skips
// it with the reason, or fails it when CIEnv is set. The engine is
// connected to and pinged once per process; each call returns a pool of
// its own on that connection, so a test may set its MaxWait.
func Need(tb testing.TB) *dockertest.Pool {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs Docker; skipped with -short")
	}
	engine.once.Do(func() {
		engine.connects++
		engine.pool, engine.err = connect()
	})
	if engine.err != nil {
		if os.Getenv(CIEnv) != "" {
			tb.Fatalf("CI must have Docker (%s is set): %v", CIEnv, engine.err)
		}
		tb.Skipf("no Docker: %v", engine.err)
	}
	p := *engine.pool
	return &p
}

// connect makes a pool on the engine of the environment and pings it.
func connect() (*dockertest.Pool, error) {
	p, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), PingTimeout)
	defer cancel()
	if err := p.Client.PingWithContext(ctx); err != nil {
		return nil, fmt.Errorf("ping the engine at %s (within %s): %w", p.Client.Endpoint(), PingTimeout, err)
	}
	return p, nil
}
