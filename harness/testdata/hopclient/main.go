// hopclient is a protocol client for BenchmarkDockerLockCycle that takes no
// lock: with no argument each acquire and release is answered at once, and
// with a Redis address each one first sends that server a PING. It splits
// the cost of a process client's call into the hop and the server's round
// trip (docs/performance.md, "Client processes").
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/protocol"
	"github.com/lockstorm/lockstorm/targets"
)

type hop struct{ rdb *redis.Client }

func (h hop) ping(ctx context.Context) error {
	if h.rdb == nil {
		return nil
	}
	return h.rdb.Ping(ctx).Err()
}

func (h hop) Acquire(ctx context.Context, _ string) (targets.Grant, error) {
	return targets.Grant{}, h.ping(ctx)
}
func (h hop) Release(ctx context.Context, _ string) error { return h.ping(ctx) }
func (hop) Node() string                                  { return "n1" }
func (hop) Abandon()                                      {}
func (h hop) Close() error {
	if h.rdb != nil {
		return h.rdb.Close()
	}
	return nil
}

func main() {
	err := protocol.Serve(context.Background(), os.Stdin, os.Stdout, func(context.Context, protocol.Init) (targets.Client, error) {
		if len(os.Args) > 1 {
			return hop{redis.NewClient(&redis.Options{Addr: os.Args[1], MaxRetries: -1, PoolSize: 2})}, nil
		}
		return hop{}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
