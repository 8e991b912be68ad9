package cli

import (
	ebin "encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/store"
)

// serverRun runs `lockstorm run` on the nats-kv target, one node, with the
// server cache in cache, and returns its exit code, its output and the
// result it stored (if any).
func serverRun(t *testing.T, cache string, opts ...string) (int, string, *store.RunResult) {
	t.Helper()
	st := t.TempDir()
	args := []string{"run", "--store", st, "--target", "nats-kv", "--nodes", "1", "--time-limit", "5s"}
	for _, o := range opts {
		args = append(args, "--opt", o)
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "LOCKSTORM_SERVER_CACHE="+cache)
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if c, n := leftovers(t, cmd.Process.Pid); c+n != 0 {
		t.Errorf("%v: %d containers and %d networks left behind", opts, c, n)
	}
	res, err := store.ReadRunResult(filepath.Join(st, "latest"))
	if err != nil {
		return code, string(out), nil
	}
	return code, string(out), &res
}

// TestDockerServerVersionIsBuiltOnceAndYourOwnBinaryRuns builds a
// nats-server version from its Go module with the host's Go (the go
// command must be on PATH, as for `make test`), runs it, runs it again from
// the cache, then runs the built file as the user's own binary, and
// refuses a script and a binary for another architecture before any
// container starts.
func TestDockerServerVersionIsBuiltOnceAndYourOwnBinaryRuns(t *testing.T) {
	testdocker.Need(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the build path needs the go command on PATH: %v", err)
	}
	cache := t.TempDir()
	const version = "2.15.3"
	code, out, res := serverRun(t, cache, "nats.version="+version)
	if code != exitValid || res == nil {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "building nats-server "+version+" from github.com/nats-io/nats-server/v2@v"+version) ||
		!strings.Contains(out, "built nats-server "+version+" in ") {
		t.Errorf("the first run does not say what it builds and how long it took:\n%s", out)
	}
	if res.ServerVersion != "nats-server "+version {
		t.Errorf("server_version %q, want the server to report nats-server %s", res.ServerVersion, version)
	}
	built := filepath.Join(cache, "nats-server-"+version+"-linux-"+hostArch(), "nats-server")
	before, err := os.Stat(built)
	if err != nil {
		t.Fatalf("no build in the cache: %v", err)
	}

	code, out, res = serverRun(t, cache, "nats.version="+version)
	if code != exitValid || res == nil || res.ServerVersion != "nats-server "+version {
		t.Fatalf("second run: exit %d, result %+v\n%s", code, res, out)
	}
	if strings.Contains(out, "building nats-server") || !strings.Contains(out, "nats-server "+version+": the build cached in "+filepath.Dir(built)) {
		t.Errorf("the second run did not take the build from the cache:\n%s", out)
	}
	if after, err := os.Stat(built); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the cached build changed: %v", err)
	}

	// The built file as the user's own binary, under another name.
	own := filepath.Join(t.TempDir(), "my-nats")
	data, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, data, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, res = serverRun(t, cache, "nats.binary="+own)
	if code != exitValid || res == nil || res.ServerVersion != "nats-server "+version {
		t.Fatalf("own binary: exit %d, result %+v\n%s", code, res, out)
	}

	dir := t.TempDir()
	script := filepath.Join(dir, "nats-wrapper.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec /usr/sbin/nats-server \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "nats-server-other-arch")
	if err := os.WriteFile(foreign, otherArchELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		script:  script + " is not an ELF executable (it starts with #!/bin/sh: a script)",
		foreign: foreign + " is built for ",
	} {
		code, out, res := serverRun(t, cache, "nats.binary="+file)
		if code != exitInfra || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d; want 4 saying %q:\n%s", filepath.Base(file), code, want, out)
		}
		if res != nil {
			t.Errorf("%s: a run started (%s) before the file was refused", filepath.Base(file), res.ID)
		}
	}
}

// otherArchELF is the header of an ELF executable for an architecture
// that is not this machine's (and so not the nodes').
func otherArchELF() []byte {
	machine := uint16(183) // AARCH64
	if hostArch() == "arm64" {
		machine = 62 // X86_64
	}
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1
	ebin.LittleEndian.PutUint16(h[16:], 2)
	ebin.LittleEndian.PutUint16(h[18:], machine)
	ebin.LittleEndian.PutUint32(h[20:], 1)
	ebin.LittleEndian.PutUint16(h[52:], 64)
	return h
}

// hostArch is this machine's architecture, as Go names it.
func hostArch() string { return goruntime.GOARCH }
