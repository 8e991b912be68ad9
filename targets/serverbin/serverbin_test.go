package serverbin

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

var testServer = &Server{
	Name: "demo-server", Owner: "demo",
	Module:      &Module{Path: "example.com/demo/v2", Known: "2.0.0"},
	VersionArgs: []string{"--version"},
}

func TestVersionOptionTakesDebianOrAReleaseVersion(t *testing.T) {
	spec := testServer.VersionOption().Spec()
	for _, ok := range []string{"debian", "3.7.3", "v3.7.3", "2.15.0-RC.1"} {
		if err := spec.Check(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "latest", "3.7", "3.7.3; rm -rf /", "../3.7.3", "v3.7.3 ", "master"} {
		if err := spec.Check(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if spec.Default != Debian {
		t.Errorf("default %q, want %q", spec.Default, Debian)
	}
}

func TestBinaryOptionNeedsAFileThatExists(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "srv")
	if err := os.WriteFile(f, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := testServer.BinaryOption().Spec()
	if err := spec.Check(f); err != nil {
		t.Errorf("existing file refused: %v", err)
	}
	err := spec.Check(filepath.Join(dir, "nope"))
	if err == nil || !strings.Contains(err.Error(), "no such file") || !strings.Contains(err.Error(), "demo.binary") {
		t.Errorf("missing file: %v", err)
	}
	if err := spec.Check(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestCheckSaysWhichServerTheOptionsChoose(t *testing.T) {
	for _, tc := range []struct {
		opts   option.Values
		want   Choice
		debian bool
	}{
		{option.Values{}, Choice{}, true},
		{option.Values{"demo.version": "debian"}, Choice{}, true},
		{option.Values{"demo.version": "v2.1.0"}, Choice{Version: "2.1.0"}, false},
		{option.Values{"demo.binary": "/bin/true"}, Choice{Binary: "/bin/true"}, false},
	} {
		got, err := testServer.Check(tc.opts)
		if err != nil || got != tc.want || got.Debian() != tc.debian {
			t.Errorf("%v: %+v (debian %v), %v; want %+v", tc.opts, got, got.Debian(), err, tc.want)
		}
	}
	_, err := testServer.Check(option.Values{"demo.version": "2.1.0", "demo.binary": "/bin/true"})
	if !errors.Is(err, option.ErrBadOption) || !strings.Contains(err.Error(), "two servers") {
		t.Errorf("both: %v", err)
	}
	noModule := &Server{Name: "plain", Owner: "plain"}
	if len(noModule.Options()) != 1 || noModule.Options()[0].Spec().Name != "plain.binary" {
		t.Errorf("a server without a module offers %v", noModule.Options())
	}
}

// elfHeader returns the 64-byte header of a little-endian ELF64
// executable for machine, with no sections: enough for debug/elf.
func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1               // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	return h
}

func TestCheckExecutableRefusesWhatCannotRunOnTheNodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := uint16(183) // AARCH64
	if machines[hostArch()] == 183 {
		other = 62 // X86_64
	}
	for _, tc := range []struct {
		path, want string
	}{
		{write("script", []byte("#!/bin/sh\nexec etcd \"$@\"\n"), 0o755), "not an ELF executable (it starts with #!/bin/sh: a script)"},
		{write("text", []byte("hello"), 0o755), "not an ELF executable; give"},
		{write("noexec", elfHeader(uint16(machines[hostArch()])), 0o644), "not executable (mode -rw-r--r--)"},
		{write("foreign", elfHeader(other), 0o755), "is built for "},
		{dir, "not a regular file"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		err := CheckExecutable(tc.path)
		if !errors.Is(err, targets.ErrCannotRun) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrCannotRun saying %q", filepath.Base(tc.path), err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %v does not name the file", filepath.Base(tc.path), err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExecutable(self); err != nil {
		t.Errorf("this test's own binary: %v", err)
	}
}

func TestUnknownVersionTellsAMissingVersionFromAFailure(t *testing.T) {
	for out, want := range map[string]bool{
		"go: go.etcd.io/etcd/server/v3@v3.9.9: reading https://proxy.golang.org/go.etcd.io/etcd/server/v3/@v/v3.9.9.info: 403 Forbidden\n\tserver response: This module version is not available.": true,
		"go: example.com/x@v1.2.3: invalid version: unknown revision v1.2.3":                                 true,
		"go: github.com/nats-io/nats-server/v2@v2.99.0: reading https://proxy.golang.org/...: 404 Not Found": true,
		"go: downloading x\n# go.etcd.io/etcd/server/v3/etcdmain\n./main.go:3:2: undefined: Foo":             false,
		"dial tcp: lookup proxy.golang.org: no such host":                                                    false,
	} {
		if got := unknownVersion(out); got != want {
			t.Errorf("unknownVersion(%q) = %v, want %v", out, got, want)
		}
	}
}

func TestCachedPathIsInTheCacheDirectoryByVersion(t *testing.T) {
	t.Setenv("LOCKSTORM_SERVER_CACHE", "/tmp/lockstorm-cache-test")
	got, err := testServer.CachedPath("2.1.0")
	want := "/tmp/lockstorm-cache-test/demo-server-2.1.0-linux-" + hostArch() + "/demo-server"
	if err != nil || got != want {
		t.Errorf("CachedPath = %q, %v; want %q", got, err, want)
	}
	t.Setenv("LOCKSTORM_SERVER_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	if got, _ := testServer.CachedPath("2.1.0"); !strings.HasPrefix(got, "/tmp/xdg/lockstorm/servers/") {
		t.Errorf("without the override: %q", got)
	}
}

// fakeGo puts on PATH a shell script named go (a fake of the go command,
// for these unit tests of the build's bookkeeping) that counts its calls in
// calls and, for install and build, writes an executable where the real
// one would; with fail set it prints fail and exits 1 instead.
func fakeGo(t *testing.T, fail string) (calls string) {
	t.Helper()
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := `#!/bin/sh
echo "$@" >> ` + calls + `
case "$1" in
env) echo go1.99-fake; exit 0 ;;
esac
if [ -n "$FAKE_GO_FAIL" ]; then echo "$FAKE_GO_FAIL" >&2; exit 1; fi
case "$1" in
install) mkdir -p "$GOBIN" && printf '#!/bin/sh\necho built\n' > "$GOBIN/demo" && chmod 755 "$GOBIN/demo" ;;
build) out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done; printf 'x' > "$out"; chmod 755 "$out" ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv("FAKE_GO_FAIL", fail)
	t.Setenv("LOCKSTORM_SERVER_CACHE", t.TempDir())
	return calls
}

func countLines(t *testing.T, path string, prefix string) int {
	t.Helper()
	b, _ := os.ReadFile(path)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestABuildIsMadeOnceAndThenTakenFromTheCache(t *testing.T) {
	for _, srv := range []*Server{
		testServer, // go install
		{Name: "demo-server", Owner: "demo", Module: &Module{Path: "example.com/demo/v2", Runner: "example.com/demo/v2/demomain"}},
	} {
		calls := fakeGo(t, "")
		p := &plan.Plan{Options: option.Values{"demo.version": "2.1.0"}}
		var said []string
		say := func(s string) { said = append(said, s) }
		first, err := srv.Provide(context.Background(), p, say)
		if err != nil {
			t.Fatalf("runner %q: %v", srv.Module.Runner, err)
		}
		want, _ := srv.CachedPath("2.1.0")
		if first != want {
			t.Errorf("built at %q, want %q", first, want)
		}
		if fi, err := os.Stat(first); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("no executable at %s: %v", first, err)
		}
		if len(said) != 2 || !strings.Contains(said[0], "building demo-server 2.1.0 from example.com/demo/v2@v2.1.0 with go1.99-fake") ||
			!strings.Contains(said[1], "built demo-server 2.1.0 in ") {
			t.Errorf("said %q", said)
		}
		builds := countLines(t, calls, "install") + countLines(t, calls, "build")
		said = nil
		second, err := srv.Provide(context.Background(), p, say)
		if err != nil || second != first {
			t.Fatalf("second: %q, %v", second, err)
		}
		if again := countLines(t, calls, "install") + countLines(t, calls, "build"); again != builds {
			t.Errorf("the second Provide ran the go command again (%d builds, then %d)", builds, again)
		}
		if len(said) != 1 || !strings.Contains(said[0], "demo-server 2.1.0: the build cached in") {
			t.Errorf("second said %q", said)
		}
		if srv.Module.Runner != "" && countLines(t, calls, "get example.com/demo/v2@v2.1.0") != 1 {
			t.Errorf("with a runner, want one go get of the module; calls:\n%s", mustRead(t, calls))
		}
		entries, _ := os.ReadDir(os.Getenv("LOCKSTORM_SERVER_CACHE"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".build-") {
				t.Errorf("scratch directory %s left in the cache", e.Name())
			}
		}
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAFailedBuildLeavesNothingAndSaysWhy(t *testing.T) {
	p := &plan.Plan{Options: option.Values{"demo.version": "2.9.9"}}
	fakeGo(t, "go: example.com/demo/v2@v2.9.9: reading https://proxy.golang.org/example.com/demo/v2/@v/v2.9.9.info: 403 Forbidden\n\tserver response: This module version is not available.")
	_, err := testServer.Provide(context.Background(), p, func(string) {})
	if !errors.Is(err, targets.ErrUnknownVersion) || !strings.Contains(err.Error(), "demo.version=2.9.9: the module proxy does not serve example.com/demo/v2@v2.9.9") ||
		!strings.Contains(err.Error(), "This module version is not available") {
		t.Errorf("unserved version: %v", err)
	}
	if entries, _ := os.ReadDir(os.Getenv("LOCKSTORM_SERVER_CACHE")); len(entries) != 0 {
		t.Errorf("the cache holds %v after a failed build", entries)
	}
	fakeGo(t, "./main.go:3:2: undefined: Foo")
	_, err = testServer.Provide(context.Background(), p, func(string) {})
	if err == nil || errors.Is(err, targets.ErrUnknownVersion) || !strings.Contains(err.Error(), "undefined: Foo") {
		t.Errorf("a version that does not build: %v", err)
	}
}
