package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
)

// A LOCKSTORM_IMAGE_PACKAGES with shell metacharacters is bad input: every
// command that would build the node image refuses it with exit 3, naming
// the variable and the refused value, before anything starts. DOCKER_HOST
// points at a socket that does not exist, so that a command that went on
// would fail with exit 4 and never reach a real engine.
func TestImagePackagesWithShellMetacharactersExit3BeforeAnythingStarts(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	for _, value := range []string{"python3-requests; rm -rf /", "redis-tools,$(id)", "jq`whoami`", "a|b"} {
		t.Setenv(image.PackagesEnv, value)
		st := t.TempDir()
		for _, args := range [][]string{
			{"run", "--target", "redis", "--time-limit", "1s", "--store", st, "--quiet"},
			{"image", "build"},
			{"campaign", "--cells", "ttl-lock-holder-stalls", "--store", st, "--quiet"},
		} {
			code, out, errOut := lockstorm(t, args...)
			if code != exitUsage {
				t.Errorf("%s with %s=%q: exit %d, want 3\n%s%s", args[0], image.PackagesEnv, value, code, out, errOut)
				continue
			}
			if !strings.Contains(errOut, image.PackagesEnv) || !strings.Contains(errOut, value) {
				t.Errorf("%s: the message does not name %s and %q:\n%s", args[0], image.PackagesEnv, value, errOut)
			}
		}
		if ents, _ := os.ReadDir(st); len(ents) > 0 {
			t.Errorf("%s=%q: the store has %d entries, want none", image.PackagesEnv, value, len(ents))
		}
	}
}

// The same refusal met later, inside a run that the harness reports as an
// infrastructure failure (a Go caller that skipped the check), still maps
// to exit 3.
func TestBadImagePackagesInsideAnInfrastructureErrorExit3(t *testing.T) {
	t.Setenv(image.PackagesEnv, "ok-package bad;package")
	_, err := image.ExtraPackages()
	if err == nil {
		t.Fatal("ExtraPackages accepted a word with a semicolon")
	}
	wrapped := fmt.Errorf("%w: node image: %w", harness.ErrInfrastructure, err)
	if code := exitCode(wrapped); code != exitUsage {
		t.Errorf("exitCode(%v) = %d, want 3", wrapped, code)
	}
}
