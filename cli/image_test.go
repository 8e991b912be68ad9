package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
)

// `lockstorm image build --verbose` is a flag of the command (a daemon
// that cannot be reached is then exit 4, not a usage error), and its help
// says where the full output goes.
func TestImageBuildTakesVerboseAndSaysWhereTheLogGoes(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	if code, out, errOut := lockstorm(t, "image", "build", "--verbose"); code != exitInfra {
		t.Errorf("image build --verbose: exit %d, want 4\n%s%s", code, out, errOut)
	}
	_, out, _ := lockstorm(t, "image", "build", "--help")
	for _, want := range []string{"--verbose", ".cache/lockstorm/image-build-"} {
		if !strings.Contains(out, want) {
			t.Errorf("image build --help lacks %q:\n%s", want, out)
		}
	}
}

// imageOnly is a runtime that only prepares an image.
type imageOnly struct {
	runtime.Runtime
	calls int
	err   error
}

func (f *imageOnly) NodeImage(context.Context) (string, error) {
	f.calls++
	return "img", f.err
}

// A campaign has the node image before its progress display starts, and
// a failure to get one is an infrastructure failure; without a runtime
// (targets in process) there is nothing to prepare.
func TestPrepareImageBeforeTheCampaignsDisplay(t *testing.T) {
	if err := prepareImage(context.Background(), nil); err != nil {
		t.Errorf("no runtime: %v", err)
	}
	ok := &imageOnly{}
	if err := prepareImage(context.Background(), ok); err != nil || ok.calls != 1 {
		t.Errorf("prepareImage: %v after %d calls, want the image asked for once", err, ok.calls)
	}
	bad := &imageOnly{err: errors.New("no mmdebstrap")}
	if err := prepareImage(context.Background(), bad); !errors.Is(err, harness.ErrInfrastructure) || !errors.Is(err, bad.err) {
		t.Errorf("prepareImage: %v, want ErrInfrastructure wrapping the image's error", err)
	}
}
