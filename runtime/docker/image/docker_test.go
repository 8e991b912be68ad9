package image

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// testOptions logs build progress into the test output.
func testOptions(t *testing.T) Options {
	return Options{Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// ensureImage builds (or finds) the node image for a test.
func ensureImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	tag, err := Ensure(ctx, cli, testOptions(t))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return tag
}

// pool is the dockertest pool of these tests (testdocker.Need): it runs
// containers of the locally built node image (dockertest pulls only an
// image that is not there, and this one always is), retries until a
// server answers, and purges the containers.
func pool(t *testing.T) *dockertest.Pool {
	t.Helper()
	p := testdocker.Need(t)
	p.MaxWait = 20 * time.Second
	return p
}

// startNode runs a container of the image, labelled for reaping, and removes
// it when the test ends.
func startNode(t *testing.T, tag string) string {
	t.Helper()
	p := pool(t)
	run := testdocker.ID("imagetest")
	repo, version, _ := strings.Cut(tag, ":")
	res, err := p.RunWithOptions(&dockertest.RunOptions{
		Name: run, Repository: repo, Tag: version,
		Labels: map[string]string{runtime.LabelRun: run, testdocker.Label: "image"},
	}, func(hc *dc.HostConfig) { hc.PublishAllPorts = false })
	if err != nil {
		t.Fatalf("run a node container: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Purge(res); err != nil {
			t.Errorf("purge %s: %v", run, err)
		}
		if left, _ := testdocker.Count(t, runtime.LabelRun+"="+run); left != 0 {
			t.Errorf("container of run %s left behind", run)
		}
	})
	return res.Container.ID
}

// waitPing retries redis-cli PING (with args) until redis answers PONG.
func waitPing(t *testing.T, cli *client.Client, id string, args ...string) error {
	t.Helper()
	return pool(t).Retry(func() error {
		code, out, _ := execIn(t, cli, id, nil, append([]string{"redis-cli"}, append(args, "PING")...)...)
		if code != 0 || strings.TrimSpace(out) != "PONG" {
			return fmt.Errorf("PING answered %d %q", code, out)
		}
		return nil
	})
}

// execIn runs cmd in the container and returns its exit code, stdout and stderr.
func execIn(t *testing.T, cli *client.Client, id string, env []string, cmd ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatalf("exec attach %q: %v", cmd, err)
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		t.Fatalf("exec read %q: %v", cmd, err)
	}
	insp, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatalf("exec inspect %q: %v", cmd, err)
	}
	return insp.ExitCode, out.String(), errOut.String()
}

// mustExec is execIn that fails the test on a non-zero exit code.
func mustExec(t *testing.T, cli *client.Client, id string, env []string, cmd ...string) string {
	t.Helper()
	code, out, errOut := execIn(t, cli, id, env, cmd...)
	if code != 0 {
		t.Fatalf("%q exited %d: %s%s", cmd, code, out, errOut)
	}
	return out
}

func TestDockerImageBuilds(t *testing.T) {
	cli := testdocker.Client(t)
	tag := ensureImage(t, cli)
	if tag != Tag() {
		t.Fatalf("Ensure returned %s, Tag() is %s", tag, Tag())
	}
	ctx := context.Background()
	first, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if first.Config == nil || first.Config.Labels[LabelKey] != LabelValue {
		t.Fatalf("image %s lacks label %s=%s", tag, LabelKey, LabelValue)
	}
	if got := ensureImage(t, cli); got != tag {
		t.Fatalf("second Ensure returned %s, want %s", got, tag)
	}
	second, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID {
		t.Fatalf("second Ensure rebuilt the image: %s then %s", first.ID, second.ID)
	}
	latest, err := cli.ImageInspect(ctx, LatestTag)
	if err != nil {
		t.Fatal(err)
	}
	if latest.ID != first.ID {
		t.Fatalf("%s is %s, want %s", LatestTag, latest.ID, first.ID)
	}
}

func TestDockerImageHasServers(t *testing.T) {
	cli := testdocker.Client(t)
	id := startNode(t, ensureImage(t, cli))
	checks := []struct {
		cmd  []string
		want string
	}{
		{[]string{"/usr/bin/redis-server", "--version"}, "Redis server v=7"},
		{[]string{"/usr/bin/redis-sentinel", "--version"}, "Redis server v=7"},
		{[]string{"/usr/bin/redis-cli", "--version"}, "redis-cli 7"},
		{[]string{"/usr/bin/etcd", "--version"}, "etcd Version: 3.4"},
		{[]string{"/usr/bin/etcdctl", "version"}, "etcdctl version: 3.4"},
		{[]string{"/usr/lib/postgresql/15/bin/postgres", "--version"}, "(PostgreSQL) 15"},
		{[]string{"/usr/lib/postgresql/15/bin/initdb", "--version"}, "(PostgreSQL) 15"},
		{[]string{"/usr/lib/postgresql/15/bin/pg_ctl", "--version"}, "(PostgreSQL) 15"},
		{[]string{"/usr/bin/psql", "--version"}, "(PostgreSQL) 15"},
		{[]string{"java", "-version"}, "openjdk version \"17"},
		{[]string{"/usr/share/zookeeper/bin/zkServer.sh", "version"}, "3.8"},
		{[]string{"/usr/sbin/iptables", "--version"}, "iptables v1.8"},
		{[]string{"/usr/sbin/ip", "-V"}, "ip utility"},
		{[]string{"/usr/bin/pkill", "--version"}, "procps-ng"},
		{[]string{"/usr/bin/tini", "--version"}, "tini version"},
		{[]string{"test", "-x", runtime.ClockTool}, ""},
		{[]string{"test", "-f", runtime.ShimPath}, ""},
		{[]string{"test", "-f", "/usr/share/java/zookeeper.jar"}, ""},
		{[]string{"test", "-f", "/etc/zookeeper/conf/zoo.cfg"}, ""},
	}
	for _, c := range checks {
		code, out, errOut := execIn(t, cli, id, nil, c.cmd...)
		if code != 0 || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%q: exit %d, output %q, want it to contain %q", c.cmd, code, out+errOut, c.want)
		}
	}
	// The main process is tini, and no server runs until the harness starts it.
	ps := mustExec(t, cli, id, nil, "ps", "-eo", "comm=")
	for _, server := range []string{"redis-server", "etcd", "java", "postgres"} {
		if strings.Contains(ps, server) {
			t.Errorf("%s is running in a fresh node:\n%s", server, ps)
		}
	}
	if comm := mustExec(t, cli, id, nil, "cat", "/proc/1/comm"); strings.TrimSpace(comm) != "tini" {
		t.Errorf("pid 1 is %q, want tini", comm)
	}
}

// redisTime returns the server's time from `redis-cli TIME`, in seconds.
func redisTime(t *testing.T, cli *client.Client, id string) float64 {
	t.Helper()
	out := mustExec(t, cli, id, nil, "redis-cli", "TIME")
	var sec, usec int64
	if _, err := fmt.Sscan(out, &sec, &usec); err != nil {
		t.Fatalf("parse redis TIME %q: %v", out, err)
	}
	return float64(sec) + float64(usec)/1e6
}

// nodeTime returns the container's own clock (no shim) in seconds.
func nodeTime(t *testing.T, cli *client.Client, id string) float64 {
	t.Helper()
	var sec float64
	if _, err := fmt.Sscan(mustExec(t, cli, id, nil, "date", "+%s.%N"), &sec); err != nil {
		t.Fatal(err)
	}
	return sec
}

func TestDockerClockShimRedis(t *testing.T) {
	cli := testdocker.Client(t)
	id := startNode(t, ensureImage(t, cli))
	if out := mustExec(t, cli, id, nil, "sh", "-c", "ldd /usr/bin/redis-server | grep -c jemalloc"); strings.TrimSpace(out) == "0" {
		t.Log("note: this redis-server does not link jemalloc")
	}
	mustExec(t, cli, id, nil, runtime.ClockTool, "reset")
	mustExec(t, cli, id, []string{"LD_PRELOAD=" + runtime.ShimPath}, "redis-server",
		"--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no",
		"--logfile", "/tmp/redis.log", "--pidfile", "/tmp/redis.pid")
	if err := waitPing(t, cli, id); err != nil {
		_, log, _ := execIn(t, cli, id, nil, "cat", "/tmp/redis.log")
		t.Fatalf("redis did not answer PING: %v: %s", err, log)
	}
	maps := mustExec(t, cli, id, nil, "sh", "-c", "cat /proc/$(cat /tmp/redis.pid)/maps")
	if !strings.Contains(maps, runtime.ShimPath) {
		t.Fatalf("redis-server has not mapped %s", runtime.ShimPath)
	}

	const tolerance = 5.0 // seconds of slack for exec round trips
	skew := func() float64 { return redisTime(t, cli, id) - nodeTime(t, cli, id) }
	if d := skew(); d < -tolerance || d > tolerance {
		t.Fatalf("with offset 0 redis TIME is %.1fs off the node clock", d)
	}
	mustExec(t, cli, id, nil, runtime.ClockTool, "set", "3600")
	if got := strings.TrimSpace(mustExec(t, cli, id, nil, runtime.ClockTool, "get")); got != "3600000000000" {
		t.Fatalf("lockstorm-clock get = %s, want 3600000000000", got)
	}
	if d := skew(); d < 3600-tolerance || d > 3600+tolerance {
		t.Fatalf("after +3600s redis TIME is %.1fs off the node clock, want about 3600", d)
	}
	mustExec(t, cli, id, nil, runtime.ClockTool, "reset")
	if d := skew(); d < -tolerance || d > tolerance {
		t.Fatalf("after reset redis TIME is %.1fs off the node clock", d)
	}

	if out := mustExec(t, cli, id, nil, "redis-cli", "SET", "k", "v", "PX", "60000"); strings.TrimSpace(out) != "OK" {
		t.Fatalf("SET: %q", out)
	}
	var pttl int
	fmt.Sscan(mustExec(t, cli, id, nil, "redis-cli", "PTTL", "k"), &pttl)
	if pttl <= 50000 {
		t.Fatalf("PTTL k = %d before the jump, want > 50000", pttl)
	}
	mustExec(t, cli, id, nil, runtime.ClockTool, "add", "120")
	if out := mustExec(t, cli, id, nil, "redis-cli", "EXISTS", "k"); strings.TrimSpace(out) != "0" {
		t.Fatalf("EXISTS k = %q after a +120s jump, want 0 (expired)", out)
	}
	if out := mustExec(t, cli, id, nil, "redis-cli", "PING"); strings.TrimSpace(out) != "PONG" {
		t.Fatalf("redis unhealthy after the jump: %q", out)
	}
}

func TestDockerClockShimSeesFileCreatedLater(t *testing.T) {
	cli := testdocker.Client(t)
	id := startNode(t, ensureImage(t, cli))
	env := []string{runtime.ClockFileEnv + "=/run/lockstorm/late"}
	mustExec(t, cli, id, append(env, "LD_PRELOAD="+runtime.ShimPath), "redis-server",
		"--daemonize", "yes", "--port", "6380", "--save", "", "--appendonly", "no")
	if err := waitPing(t, cli, id, "-p", "6380"); err != nil {
		t.Fatalf("redis did not answer PING: %v", err)
	}
	mustExec(t, cli, id, env, runtime.ClockTool, "set", "-7200")
	// The shim looks for a missing file again every 250 ms; poll for the shift.
	p := pool(t)
	p.MaxWait = 10 * time.Second
	var sec int64
	if err := p.Retry(func() error {
		fmt.Sscan(mustExec(t, cli, id, nil, "redis-cli", "-p", "6380", "TIME"), &sec)
		if d := float64(sec) - nodeTime(t, cli, id); d < -7200+5 && d > -7200-5 {
			return nil
		}
		return fmt.Errorf("TIME %d", sec)
	}); err != nil {
		t.Fatalf("redis never saw the offset file that appeared after it started (last TIME %d)", sec)
	}
}

func TestDockerClockShimMonotonicOnlyOnRequest(t *testing.T) {
	cli := testdocker.Client(t)
	id := startNode(t, ensureImage(t, cli))
	mustExec(t, cli, id, nil, runtime.ClockTool, "set", "1000")
	const script = `use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC CLOCK_REALTIME);` +
		`printf "%.3f %.3f\n", clock_gettime(CLOCK_MONOTONIC), clock_gettime(CLOCK_REALTIME);`
	read := func(env ...string) (mono, real float64) {
		out := mustExec(t, cli, id, env, "perl", "-e", script)
		if _, err := fmt.Sscan(out, &mono, &real); err != nil {
			t.Fatalf("parse %q: %v", out, err)
		}
		return mono, real
	}
	plainMono, plainReal := read()
	shimMono, shimReal := read("LD_PRELOAD=" + runtime.ShimPath)
	bothMono, bothReal := read("LD_PRELOAD="+runtime.ShimPath, runtime.ClockMonotonicEnv+"=1")
	near := func(got, want float64) bool { return got > want-5 && got < want+5 }
	if !near(shimReal-plainReal, 1000) || !near(bothReal-plainReal, 1000) {
		t.Errorf("realtime shift = %.1fs and %.1fs, want 1000s both", shimReal-plainReal, bothReal-plainReal)
	}
	if !near(shimMono-plainMono, 0) {
		t.Errorf("monotonic shifted by %.1fs without %s=1", shimMono-plainMono, runtime.ClockMonotonicEnv)
	}
	if !near(bothMono-plainMono, 1000) {
		t.Errorf("monotonic shift with %s=1 = %.1fs, want 1000s", runtime.ClockMonotonicEnv, bothMono-plainMono)
	}
}

func TestDockerClockTool(t *testing.T) {
	cli := testdocker.Client(t)
	id := startNode(t, ensureImage(t, cli))
	if got := strings.TrimSpace(mustExec(t, cli, id, nil, runtime.ClockTool, "get")); got != "0" {
		t.Fatalf("get with no file = %q, want 0", got)
	}
	cases := []struct{ arg, want string }{
		{"3600", "3600000000000"},
		{"-1.5", "-1500000000"},
		{"250ms", "250000000"},
		{"7ns", "7"},
		{"2h", "7200000000000"},
	}
	for _, c := range cases {
		mustExec(t, cli, id, nil, runtime.ClockTool, "set", c.arg)
		if got := strings.TrimSpace(mustExec(t, cli, id, nil, runtime.ClockTool, "get")); got != c.want {
			t.Errorf("set %s then get = %s, want %s", c.arg, got, c.want)
		}
	}
	if got := strings.TrimSpace(mustExec(t, cli, id, nil, runtime.ClockTool, "add", "-2h")); got != "0" {
		t.Errorf("add -2h printed %s, want 0", got)
	}
	mustExec(t, cli, id, nil, runtime.ClockTool, "set", "-1ns")
	if got := mustExec(t, cli, id, nil, "od", "-An", "-tx1", runtime.ClockFile); strings.Join(strings.Fields(got), "") != "ffffffffffffffff" {
		t.Errorf("file bytes after set -1ns = %q, want 8 bytes of ff", got)
	}
	if got := strings.TrimSpace(mustExec(t, cli, id, nil, "stat", "-c", "%s", runtime.ClockFile)); got != "8" {
		t.Errorf("file size = %s, want 8", got)
	}
	if code, _, _ := execIn(t, cli, id, nil, runtime.ClockTool, "set", "3x"); code != 2 {
		t.Errorf("set 3x exited %d, want 2", code)
	}
}
