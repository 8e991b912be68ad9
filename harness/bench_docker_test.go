package harness

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/process"
	redistarget "github.com/lockstorm/lockstorm/targets/redis"
)

// The scripts of the redis target's Go binding, for the bare loop.
var (
	benchAcquire = redis.NewScript(`if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end return false`)
	benchRelease = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// BenchmarkDockerLockCycle measures one client's lock cycles (acquire,
// release) on the redis target's server, three ways side by side: a bare
// go-redis loop of the binding's two scripts, the Go binding in this
// process, and a `lockstorm client` process in a client container behind
// the protocol. Three more ways split a process client's call: a PING from
// this process (one round trip to the server), and a protocol client that
// takes no lock (testdata/hopclient), answering each call at once (the hop
// alone) or after a PING of its own (the hop and the server's round trip).
// Run it with
//
//	go test ./harness -run '^$' -bench DockerLockCycle -benchtime 5s -count 5
func BenchmarkDockerLockCycle(b *testing.B) {
	rt := testdocker.Runtime(b, docker.New)
	ctx := context.Background()
	bin := testdocker.Lockstorm(b)
	hopBin := filepath.Join(b.TempDir(), "hopclient")
	build := exec.Command("go", "build", "-o", hopBin, "./testdata/hopclient")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	cl := testdocker.Start(b, rt, runtime.Spec{RunID: testdocker.ID("bench"), Nodes: 1, Clients: 1,
		Labels:      map[string]string{testdocker.Label: "bench"},
		ClientFiles: []runtime.File{{Host: bin, Path: process.Binary}, {Host: hopBin, Path: process.BinDir + "/hopclient"}}})
	svc := redistarget.New()
	p := plan.Default()
	p.Target, p.TTL, p.Wait, p.OpTimeout, p.Lease = "redis", 2*time.Second, 2*time.Second, 7*time.Second, 2*time.Second
	for _, n := range cl.Nodes() {
		p.Nodes = append(p.Nodes, plan.Node{Name: n.Name, IP: n.IP, Ports: svc.Describe().Ports})
	}
	if _, err := svc.Setup(ctx, &targets.Env{Cluster: cl, Plan: &p, Log: slog.New(slog.DiscardHandler)}); err != nil {
		b.Fatal(err)
	}
	addr, _ := p.Addr("n1", 6379)
	b.Run("bare-go-redis", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 2})
		defer rdb.Close()
		for b.Loop() {
			if _, err := benchAcquire.Run(ctx, rdb, []string{"k", "k:fence"}, "v", 2000).Int64(); err != nil {
				b.Fatal(err)
			}
			if _, err := benchRelease.Run(ctx, rdb, []string{"k"}, "v").Int64(); err != nil {
				b.Fatal(err)
			}
		}
	})
	cycle := func(b *testing.B, c targets.Client) {
		for b.Loop() {
			octx, cancel := context.WithTimeout(ctx, 7*time.Second)
			if _, err := c.Acquire(octx, "k"); err != nil {
				b.Fatal(err)
			}
			if err := c.Release(octx, "k"); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	}
	b.Run("go-binding-in-process", func(b *testing.B) {
		c, err := svc.Binding().NewClient(ctx, targets.ClientEnv{Plan: &p, Process: 0, Node: "n1"})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cycle(b, c)
	})
	runProcess := func(b *testing.B, cmd []string) {
		pp := &process.Pool{Cluster: cl, Plan: &p, Keys: []string{"k"}, Command: cmd, Name: "process",
			Containers: []string{cl.Clients()[0].Name}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if err := pp.Prepare(ctx, nil); err != nil {
			b.Fatal(err)
		}
		c, err := pp.NewClient(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cycle(b, c)
	}
	b.Run("client-process", func(b *testing.B) {
		p.Client = plan.ClientProcess
		cmd, _, err := process.Command(&p)
		if err != nil {
			b.Fatal(err)
		}
		runProcess(b, cmd)
	})
	// Two calls a cycle, as in a lock cycle.
	b.Run("ping-from-harness", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 2})
		defer rdb.Close()
		for b.Loop() {
			for range 2 {
				if err := rdb.Ping(ctx).Err(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("hop-only", func(b *testing.B) { runProcess(b, []string{process.BinDir + "/hopclient"}) })
	b.Run("hop-and-ping", func(b *testing.B) { runProcess(b, []string{process.BinDir + "/hopclient", addr}) })
}
