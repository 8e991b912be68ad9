//go:build unix

package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
)

// fifo makes a FIFO that nobody writes to: opening it for reading the
// ordinary way blocks forever.
func fifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "campaign.yaml")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

func TestNonRegularFilesAreRefusedAtOnce(t *testing.T) {
	for _, c := range []struct {
		name, path, kind string
	}{
		{"fifo", fifo(t), "a FIFO"},
		{"device", "/dev/zero", "a character device"},
		{"directory", t.TempDir(), "a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Lstat(c.path); err != nil {
				t.Skip(err)
			}
			err := wait.Within(2*time.Second, func() error { _, err := ReadFile(c.path, 1<<20); return err })
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("ReadFile(%s) = %v; want ErrNotRegular naming the file and %q", c.path, err, c.kind)
			}
			if err := Regular(c.path); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("Regular(%s) = %v", c.path, err)
			}
		})
	}
}

func TestFilesUpToTheLimitAreReadAndLargerOnesRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 1024)), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 1024); err != nil || len(b) != 1024 {
		t.Errorf("a file at the limit: %d bytes, %v", len(b), err)
	}
	_, err := ReadFile(p, 1023)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "1023 bytes") {
		t.Errorf("a file over the limit: %v; want ErrTooLarge naming the file and the limit", err)
	}
	_, err = ReadFile(p, 512)
	if err == nil || !strings.Contains(err.Error(), "512 bytes") {
		t.Errorf("limit not stated: %v", err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(link, 1<<20); err != nil || len(b) != 1024 {
		t.Errorf("a symlink to a regular file: %d bytes, %v", len(b), err)
	}
	if err := Regular(link); err != nil {
		t.Errorf("Regular of a symlink to a regular file: %v", err)
	}
}

// A file under /proc says its size is 0; the bounded read still stops it.
func TestFilesThatUnderstateTheirSizeAreStillBounded(t *testing.T) {
	const p = "/proc/self/maps"
	st, err := os.Stat(p)
	if err != nil || st.Size() != 0 {
		t.Skip("no /proc with zero-size files here")
	}
	if _, err := ReadFile(p, 16); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile(%s, 16) = %v, want ErrTooLarge", p, err)
	}
}

func TestReadFileInStaysInsideTheRootAndRefusesFIFOs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.json"), 0o644); err != nil {
		t.Skip(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if b, err := ReadFileIn(root, "results.json", 16); err != nil || string(b) != "{}" {
		t.Errorf("ReadFileIn = %q, %v", b, err)
	}
	err = wait.Within(2*time.Second, func() error { _, err := ReadFileIn(root, "pipe.json", 16); return err })
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFileIn of a FIFO = %v", err)
	}
	if _, err := ReadFileIn(root, "../results.json", 16); err == nil {
		t.Error("ReadFileIn left its root")
	}
}

func TestSizesAreStatedInTheirUnit(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 64 << 20: "64 MiB", 4 << 10: "4 KiB", 1000: "1000 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
