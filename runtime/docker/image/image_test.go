package image

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/docker/docker/client"
)

func TestEnsureWithoutDaemonIsErrNoDocker(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	cli, err := client.NewClientWithOpts(client.WithHost(sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := Ensure(context.Background(), cli, Options{}); !errors.Is(err, ErrNoDocker) {
		t.Fatalf("Ensure with no daemon: err = %v, want ErrNoDocker", err)
	}
}
