package testdocker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Images a test cluster can run on when what it tests is the runtime, not
// the servers: the real node image when it has been built, else a busybox
// image that Image builds itself.
const (
	NodeImage    = "lockstorm-node:latest"
	BusyboxImage = "lockstorm-test-busybox:latest"
)

// Client returns a Docker API client (github.com/docker/docker/client)
// for the engine of the environment, for code under test that takes one
// (the node image build), once Need has passed. It is closed when the test
// ends.
func Client(tb testing.TB) *client.Client {
	tb.Helper()
	Need(tb)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatalf("docker client: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

var imageOnce struct {
	sync.Mutex
	name string
}

// Image returns NodeImage if the engine has it, else BusyboxImage,
// building the latter from the host's static busybox when it is missing.
// It decides once per process.
func Image(tb testing.TB) string {
	tb.Helper()
	imageOnce.Lock()
	defer imageOnce.Unlock()
	if imageOnce.name != "" {
		return imageOnce.name
	}
	cli := Client(tb)
	ctx := context.Background()
	for _, ref := range []string{NodeImage, BusyboxImage} {
		if _, err := cli.ImageInspect(ctx, ref); err == nil {
			tb.Logf("Docker tests run on image %s", ref)
			imageOnce.name = ref
			return ref
		} else if !cerrdefs.IsNotFound(err) {
			tb.Fatalf("inspect image %s: %v", ref, err)
		}
	}
	if err := buildBusyboxImage(ctx, cli); err != nil {
		tb.Fatalf("neither %s nor %s exists, and building the latter failed: %v "+
			"(install busybox-static, or build the node image)", NodeImage, BusyboxImage, err)
	}
	tb.Logf("Docker tests run on image %s, built just now", BusyboxImage)
	imageOnce.name = BusyboxImage
	return BusyboxImage
}

// buildBusyboxImage imports a root file system holding only a static
// busybox and its applet links as BusyboxImage, labelled
// lockstorm.image=test.
func buildBusyboxImage(ctx context.Context, cli *client.Client) error {
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
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, BusyboxImage, image.ImportOptions{
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
