package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/runtime"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
)

// Images the Docker tests run on: the real node image when it has been
// built, else a busybox image that the tests build themselves.
const (
	nodeImage = "lockstorm-node:latest"
	testImage = "lockstorm-test-busybox:latest"
)

// testLabel marks everything the tests of this package create, in
// addition to LabelRun.
const testLabel = "lockstorm.test"

// testTimeout bounds each Docker test's own context.
const testTimeout = 3 * time.Minute

// dockerForTest connects to Docker, skipping the test in -short mode or
// when there is no Docker socket at all.
func dockerForTest(tb testing.TB) *Runtime {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping Docker test in -short mode")
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); errors.Is(err, os.ErrNotExist) {
			tb.Skip("skipping: Docker socket /var/run/docker.sock is absent and DOCKER_HOST is unset")
		}
	}
	d, err := New(context.Background(), nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

var imageOnce struct {
	sync.Mutex
	name string
}

// imageForTest returns nodeImage if present, else testImage, building
// testImage from the host's static busybox when it is missing.
func imageForTest(tb testing.TB, d *Runtime) string {
	tb.Helper()
	imageOnce.Lock()
	defer imageOnce.Unlock()
	if imageOnce.name != "" {
		return imageOnce.name
	}
	ctx := context.Background()
	for _, ref := range []string{nodeImage, testImage} {
		if _, err := d.cli.ImageInspect(ctx, ref); err == nil {
			tb.Logf("Docker tests run on image %s", ref)
			imageOnce.name = ref
			return ref
		} else if !cerrdefs.IsNotFound(err) {
			tb.Fatalf("inspect image %s: %v", ref, err)
		}
	}
	if err := buildBusyboxImage(ctx, d); err != nil {
		tb.Fatalf("neither %s nor %s exists, and building the latter failed: %v "+
			"(install busybox-static, or build the node image)", nodeImage, testImage, err)
	}
	tb.Logf("Docker tests run on image %s, built just now", testImage)
	imageOnce.name = testImage
	return testImage
}

// buildBusyboxImage imports a root file system holding only a static
// busybox and its applet links as testImage, labelled lockstorm.image=test.
func buildBusyboxImage(ctx context.Context, d *Runtime) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin", "etc", "dev", "proc", "sys", "root"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return err
	}
	if _, err := tw.Write(bin); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	rc, err := d.cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, testImage, image.ImportOptions{
		Changes: []string{
			`CMD ["/bin/sleep", "2147483647"]`,
			`LABEL lockstorm.image=test`,
		},
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// newRunID returns a fresh run id for a test.
func newRunID(tb testing.TB) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "test-" + hex.EncodeToString(b[:])
}

// testSpec returns a Spec for a test cluster of n nodes.
func testSpec(tb testing.TB, d *Runtime, n int) runtime.Spec {
	return runtime.Spec{
		RunID:  newRunID(tb),
		Image:  imageForTest(tb, d),
		Nodes:  n,
		Env:    []string{"LOCKSTORM_TEST=yes"},
		Labels: map[string]string{testLabel: "runtime"},
	}
}

// startForTest starts a cluster and tears it down when the test ends.
func startForTest(t *testing.T, d *Runtime, spec runtime.Spec) runtime.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	t.Cleanup(func() { reapRun(t, d, spec.RunID) })
	c, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
	return c
}

// reapRun removes whatever a test left of one run, as a safety net.
func reapRun(tb testing.TB, d *Runtime, runID string) {
	if _, err := d.Reap(context.Background(), map[string]string{runtime.LabelRun: runID}); err != nil {
		tb.Errorf("reap %s: %v", runID, err)
	}
}

// leftovers counts the containers and networks that carry the label
// filter ("key=value").
func leftovers(tb testing.TB, d *Runtime, label string) (containers, networks int) {
	tb.Helper()
	ctx := context.Background()
	args := filters.NewArgs(filters.Arg("label", label))
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		tb.Fatalf("list containers: %v", err)
	}
	ns, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		tb.Fatalf("list networks: %v", err)
	}
	return len(cs), len(ns)
}

// inspectNode returns Docker's view of a node's container.
func inspectNode(tb testing.TB, d *Runtime, c runtime.Cluster, node string) container.InspectResponse {
	tb.Helper()
	info, err := d.cli.ContainerInspect(context.Background(), ContainerName(c.RunID(), node))
	if err != nil {
		tb.Fatalf("inspect %s: %v", node, err)
	}
	return info
}

// mustExec runs cmd on node and fails the test unless it exits with 0.
func mustExec(tb testing.TB, c runtime.Cluster, node string, cmd ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Exec(ctx, node, cmd, runtime.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		tb.Fatalf("exec %q on %s: %v", cmd, node, err)
	}
	return res.Stdout
}

var echoOnce struct {
	sync.Once
	bin []byte
	err error
}

// echoBinary builds testdata/tcpecho as a static binary, once.
func echoBinary(tb testing.TB) []byte {
	tb.Helper()
	echoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lockstorm-tcpecho-")
		if err != nil {
			echoOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "tcpecho")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/tcpecho")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			echoOnce.err = fmt.Errorf("build tcpecho: %w: %s", err, msg)
			return
		}
		echoOnce.bin, echoOnce.err = os.ReadFile(out)
	})
	if echoOnce.err != nil {
		tb.Fatal(echoOnce.err)
	}
	return echoOnce.bin
}

// echoPort is where the test echo servers listen.
const echoPort = "7000"

// installEcho copies the tcpecho helper to /tmp/tcpecho on node.
func installEcho(t *testing.T, c runtime.Cluster, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Exec(ctx, node, []string{"sh", "-c", "cat > /tmp/tcpecho && chmod 755 /tmp/tcpecho"},
		runtime.ExecOptions{Stdin: echoBinary(t)})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("install tcpecho on %s: %v", node, err)
	}
}

// serveEcho installs and starts an echo server on node and returns its
// address once the host can connect to it.
func serveEcho(t *testing.T, c runtime.Cluster, node string) string {
	t.Helper()
	installEcho(t, c, node)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Exec(ctx, node, []string{"/tmp/tcpecho", "serve", ":" + echoPort}, runtime.ExecOptions{Detach: true}); err != nil {
		t.Fatalf("start echo server on %s: %v", node, err)
	}
	addr := net.JoinHostPort(nodeInfo(t, c, node).IP, echoPort)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return addr
		}
		if ctx.Err() != nil {
			t.Fatalf("echo server on %s (%s) never accepted a connection: %v", node, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echo sends msg over conn and returns the line that comes back, or an
// error if none comes back before the deadline.
func echo(conn net.Conn, r *bufio.Reader, msg string, wait time.Duration) (string, error) {
	if _, err := fmt.Fprintln(conn, msg); err != nil {
		return "", err
	}
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// nodeInfo returns the NodeInfo of the named node.
func nodeInfo(tb testing.TB, c runtime.Cluster, node string) runtime.NodeInfo {
	tb.Helper()
	for _, n := range c.Nodes() {
		if n.Name == node {
			return n
		}
	}
	tb.Fatalf("no node %s in %v", node, c.Nodes())
	return runtime.NodeInfo{}
}
