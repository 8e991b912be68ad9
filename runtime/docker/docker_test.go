package docker

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/network"
)

func TestDockerClusterComesUp(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 3)
	c := startForTest(t, d, spec)

	nodes := c.Nodes()
	if got := len(nodes); got != 3 {
		t.Fatalf("Nodes() has %d nodes, want 3", got)
	}
	netInfo, err := d.cli.NetworkInspect(context.Background(), NetworkName(spec.RunID), network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect network: %v", err)
	}
	if !netInfo.Internal || netInfo.Labels[runtime.LabelRun] != spec.RunID || len(netInfo.IPAM.Config) != 1 {
		t.Fatalf("network: internal=%v labels=%v ipam=%v", netInfo.Internal, netInfo.Labels, netInfo.IPAM.Config)
	}
	subnet := netip.MustParsePrefix(netInfo.IPAM.Config[0].Subnet)
	if subnet.Bits() != 24 {
		t.Errorf("subnet %s is not a /24", subnet)
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if want := runtime.NodeName(i + 1); n.Name != want {
			t.Errorf("node %d is named %q, want %q", i, n.Name, want)
		}
		if seen[n.IP] || !subnet.Contains(netip.MustParseAddr(n.IP)) {
			t.Errorf("node %s has IP %s: duplicate or outside %s", n.Name, n.IP, subnet)
		}
		seen[n.IP] = true

		info := inspectNode(t, d, c, n.Name)
		if !info.State.Running {
			t.Errorf("%s is not running: %s", n.Name, info.State.Status)
		}
		if info.Config.Hostname != n.Name {
			t.Errorf("%s has host name %q", n.Name, info.Config.Hostname)
		}
		if info.Config.Labels[runtime.LabelRun] != spec.RunID || info.Config.Labels[runtime.LabelNode] != n.Name ||
			info.Config.Labels[testdocker.Label] != "runtime" {
			t.Errorf("%s has labels %v", n.Name, info.Config.Labels)
		}
		// The daemon may store the capability as CAP_NET_ADMIN.
		capAdd := []string(info.HostConfig.CapAdd)
		if info.HostConfig.Privileged || len(capAdd) != 1 || strings.TrimPrefix(capAdd[0], "CAP_") != "NET_ADMIN" {
			t.Errorf("%s: privileged=%v capadd=%v, want only NET_ADMIN added", n.Name, info.HostConfig.Privileged, info.HostConfig.CapAdd)
		}
		if ep := info.NetworkSettings.Networks[NetworkName(spec.RunID)]; ep == nil || ep.IPAddress != n.IP {
			t.Errorf("%s: endpoint %+v, want IP %s", n.Name, ep, n.IP)
		}
		if got := strings.TrimSpace(mustExec(t, c, n.Name, "hostname")); got != n.Name {
			t.Errorf("hostname on %s says %q", n.Name, got)
		}
		hosts := mustExec(t, c, n.Name, "cat", "/etc/hosts")
		for _, m := range nodes {
			if !hostsMaps(hosts, m.Name, m.IP) {
				t.Errorf("/etc/hosts on %s does not map %s to %s:\n%s", n.Name, m.Name, m.IP, hosts)
			}
		}
	}
	if got := mustExec(t, c, "n1", "sh", "-c", "echo $LOCKSTORM_TEST"); got != "yes\n" {
		t.Errorf("Spec.Env not seen by exec: LOCKSTORM_TEST=%q", got)
	}
}

// hostsMaps reports whether an /etc/hosts text maps name to ip.
func hostsMaps(hosts, name, ip string) bool {
	for line := range strings.Lines(hosts) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == ip && slices.Contains(f[1:], name) {
			return true
		}
	}
	return false
}

func TestDockerNodesReachEachOtherByName(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 3))
	serveEcho(t, c, "n2")
	installEcho(t, c, "n1")
	got := mustExec(t, c, "n1", "/tmp/tcpecho", "dial", "n2:"+echoPort, "hello-from-n1")
	if got != "hello-from-n1\n" {
		t.Fatalf("n1 -> n2 echo returned %q", got)
	}
}

func TestDockerHostReachesNodePort(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	addr := serveEcho(t, c, "n1")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("host cannot dial %s: %v", addr, err)
	}
	defer conn.Close()
	got, err := echo(conn, bufio.NewReader(conn), "hello-from-host", 10*time.Second)
	if err != nil || got != "hello-from-host" {
		t.Fatalf("echo via %s = %q, %v", addr, got, err)
	}
}

func TestDockerExecCapturesOutputAndExitCode(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := c.Exec(ctx, "n1", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, runtime.ExecOptions{})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.Stdout != "out\n" || res.Stderr != "err\n" || res.ExitCode != 3 {
		t.Errorf("Exec = %+v, want stdout out, stderr err, exit 3", res)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "err") {
		t.Errorf("ExecResult.Err() = %v", err)
	}

	res, err = c.Exec(ctx, "n1", []string{"sh", "-c", `cat; echo "$FOO"; id -u`},
		runtime.ExecOptions{Stdin: []byte("piped\n"), Env: []string{"FOO=bar"}, User: "65534"})
	if err != nil || res.Err() != nil {
		t.Fatalf("Exec with stdin: %+v, %v", res, err)
	}
	if res.Stdout != "piped\nbar\n65534\n" {
		t.Errorf("stdin/env/user: stdout %q", res.Stdout)
	}

	res, err = c.Exec(ctx, "n1", []string{"/no/such/command"}, runtime.ExecOptions{})
	if err == nil && res.ExitCode == 0 {
		t.Errorf("a missing command succeeded: %+v", res)
	}

	if _, err := c.Exec(ctx, "n9", []string{"true"}, runtime.ExecOptions{}); !errors.Is(err, runtime.ErrUnknownNode) {
		t.Errorf("Exec on n9: %v, want ErrUnknownNode", err)
	}
}

func TestDockerExecDetachRunsInBackground(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The command never ends by itself, so a blocking Exec would fail
	// with the context's deadline.
	res, err := c.Exec(ctx, "n1", []string{"sh", "-c", "echo started > /tmp/detached; exec sleep 100000"}, runtime.ExecOptions{Detach: true})
	if err != nil || res != (runtime.ExecResult{}) {
		t.Fatalf("detached Exec = %+v, %v", res, err)
	}
	for {
		r, err := c.Exec(ctx, "n1", []string{"cat", "/tmp/detached"}, runtime.ExecOptions{})
		if err != nil {
			t.Fatalf("cat: %v", err)
		}
		if r.Stdout == "started\n" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Exec(ctx, "n1", []string{"cat"}, runtime.ExecOptions{Detach: true, Stdin: []byte("x")}); err == nil {
		t.Error("detached Exec accepted stdin")
	}
}

func TestDockerExecHonoursCancellation(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := c.Exec(ctx, "n1", []string{"sleep", "100000"}, runtime.ExecOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec of an endless command with a cancelled ctx returned %v, want context.Canceled", err)
	}
}

func TestDockerPauseStallsNodeAndUnpauseResumes(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := serveEcho(t, c, "n1")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if got, err := echo(conn, r, "before", 10*time.Second); err != nil || got != "before" {
		t.Fatalf("echo before pause = %q, %v", got, err)
	}

	for range 2 { // the second Pause must be a no-op
		if err := c.Pause(ctx, "n1"); err != nil {
			t.Fatalf("Pause: %v", err)
		}
	}
	if !inspectNode(t, d, c, "n1").State.Paused {
		t.Fatal("container not paused after Pause")
	}
	if _, err := c.Exec(ctx, "n1", []string{"true"}, runtime.ExecOptions{}); err == nil {
		t.Error("Exec on a paused node succeeded")
	}
	_, err = echo(conn, r, "during", time.Second)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("echo while paused: %v, want a timeout", err)
	}

	for range 2 { // the second Unpause must be a no-op
		if err := c.Unpause(ctx, "n1"); err != nil {
			t.Fatalf("Unpause: %v", err)
		}
	}
	if inspectNode(t, d, c, "n1").State.Paused {
		t.Fatal("container still paused after Unpause")
	}
	// The line sent while paused is answered now.
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "during\n" {
		t.Fatalf("after Unpause the stalled echo returned %q, %v", line, err)
	}
}

func TestDockerKillStopsNodeAndRestartKeepsIP(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 2)
	c := startForTest(t, d, spec)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mustExec(t, c, "n2", "sh", "-c", "echo kept > /root/state")

	for range 2 { // the second Kill must be a no-op
		if err := c.Kill(ctx, "n2"); err != nil {
			t.Fatalf("Kill: %v", err)
		}
	}
	if st := inspectNode(t, d, c, "n2").State; st.Running {
		t.Fatalf("n2 still running after Kill: %s", st.Status)
	}
	if _, err := c.Exec(ctx, "n2", []string{"true"}, runtime.ExecOptions{}); err == nil {
		t.Error("Exec on a killed node succeeded")
	}
	if !inspectNode(t, d, c, "n1").State.Running {
		t.Error("killing n2 stopped n1")
	}

	for range 2 { // the second Restart must be a no-op
		if err := c.Restart(ctx, "n2"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
	}
	info := inspectNode(t, d, c, "n2")
	want := nodeInfo(t, c, "n2").IP
	if !info.State.Running {
		t.Fatalf("n2 not running after Restart: %s", info.State.Status)
	}
	if ep := info.NetworkSettings.Networks[NetworkName(spec.RunID)]; ep == nil || ep.IPAddress != want {
		t.Fatalf("n2 after Restart: endpoint %+v, want IP %s", ep, want)
	}
	if got := mustExec(t, c, "n2", "cat", "/root/state"); got != "kept\n" {
		t.Errorf("file system after Restart: %q", got)
	}
	serveEcho(t, c, "n2") // dials the same IP from the host
}

func TestDockerCopyFromCopiesFilesAndDirs(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	c := startForTest(t, d, testSpec(t, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mustExec(t, c, "n1", "sh", "-c",
		"mkdir -p /tmp/logs/sub && echo alpha > /tmp/logs/a.log && echo beta > /tmp/logs/sub/b.log && ln -s /etc/passwd /tmp/logs/link")

	dir := t.TempDir()
	if err := c.CopyFrom(ctx, "n1", "/tmp/logs", dir); err != nil {
		t.Fatalf("CopyFrom dir: %v", err)
	}
	assertFile(t, dir+"/logs/a.log", "alpha\n")
	assertFile(t, dir+"/logs/sub/b.log", "beta\n")
	if _, err := os.Lstat(dir + "/logs/link"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("symlink was copied: %v", err)
	}

	// A single file, from a killed node, into a directory that does not exist yet.
	if err := c.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir() + "/new"
	if err := c.CopyFrom(ctx, "n1", "/tmp/logs/a.log", dir2); err != nil {
		t.Fatalf("CopyFrom file of a killed node: %v", err)
	}
	assertFile(t, dir2+"/a.log", "alpha\n")

	if err := c.CopyFrom(ctx, "n1", "/no/such/file", t.TempDir()); !errors.Is(err, runtime.ErrNoSuchPath) {
		t.Errorf("CopyFrom of a missing path: %v, want ErrNoSuchPath", err)
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q, %v; want %q", path, got, err, want)
	}
}
