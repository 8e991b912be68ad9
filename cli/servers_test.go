package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGoCommand puts on PATH a shell script named go (a fake of the go
// command for these tests, which must not need the module proxy) that
// prints what the proxy says of a version it does not serve, and exits 1.
func fakeGoCommand(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = env ] && { echo go1.99-fake; exit 0; }\n" +
		"echo 'go: go.etcd.io/etcd/server/v3@v3.9.9: reading https://proxy.golang.org/go.etcd.io/etcd/server/v3/@v/v3.9.9.info: 403 Forbidden' >&2\n" +
		"echo '\tserver response: This module version is not available.' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv("LOCKSTORM_SERVER_CACHE", t.TempDir())
}

func TestACampaignWithAVersionThatDoesNotExistExits3BeforeAnyRun(t *testing.T) {
	fakeGoCommand(t)
	f := filepath.Join(t.TempDir(), "v.yaml")
	yaml := "name: v\ncells:\n  - name: fine\n    target: inmemory\n    time-limit: 5s\n" +
		"  - name: newer\n    target: etcd\n    time-limit: 5s\n    matrix: {etcd.version: [3.9.9]}\n"
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	st := t.TempDir()
	code, _, errOut := lockstorm(t, "campaign", "--store", st, f)
	want := `v.yaml:6: cell "newer@etcd.version=3.9.9": opt: etcd.version=3.9.9: the module proxy does not serve go.etcd.io/etcd/server/v3@v3.9.9`
	if code != exitUsage || !strings.Contains(errOut, want) || !strings.Contains(errOut, "This module version is not available") {
		t.Errorf("exit %d, stderr %q; want 3 with %q", code, errOut, want)
	}
	if entries, _ := os.ReadDir(st); len(entries) != 0 {
		t.Errorf("the store holds %v: a run started", entries)
	}
}

func TestServerOptionsAreCheckedBeforeAnythingStarts(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "etcd", "--opt", "etcd.version=latest"}, `--opt etcd.version="latest": want debian or a release version such as 3.7.3`},
		{[]string{"--target", "nats-kv", "--opt", "nats.binary=" + filepath.Join(dir, "nope")}, "nats.binary="},
		{[]string{"--target", "etcd", "--opt", "etcd.version=3.7.3", "--opt", "etcd.binary=/bin/sh"}, "etcd.version=3.7.3 and etcd.binary=/bin/sh name two servers; give one"},
		{[]string{"--target", "nats-kv", "--opt", "nats.sync=always"}, "nats.sync=always: Debian's nats-server 2.9.10 has no sync_interval"},
		{[]string{"--target", "zookeeper", "--opt", "etcd.version=3.7.3"}, "etcd.version"},
		{[]string{"--target", "redis", "--opt", "redis.version=7.4.0"}, "redis.version"},
	} {
		code, _, errOut := lockstorm(t, append([]string{"run", "--store", dir}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 3 with %q", c.args, code, errOut, c.want)
		}
	}
}
