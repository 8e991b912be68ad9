package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
)

// A protocol client that is missing or cannot run is refused before
// anything starts (it was found only once the cluster had started): the
// target is in containers, yet no Docker is needed.
func TestAClientThatCannotRunIsRefusedUpFront(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "lock.py")
	if err := os.WriteFile(noexec, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone.py")
	if err := os.Symlink(filepath.Join(dir, "moved.py"), gone); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.py")
	cases := []struct{ client, want string }{
		{missing, "--client " + missing + ": the program " + missing + " does not exist on this machine"},
		{gone, "the program " + gone + " does not exist on this machine (it is a symbolic link to " + filepath.Join(dir, "moved.py") + ", which does not exist)"},
		{noexec, "the program " + noexec + " is not executable"},
		{dir, "the program " + dir + " is a directory"},
		{"python3 " + missing + " --flag", `--client "python3 ` + missing + ` --flag": the script ` + missing + " does not exist on this machine"},
	}
	for _, c := range cases {
		code, out, errOut := lockstorm(t, "run", "--target", "redis", "--client", c.client, "--store", t.TempDir())
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("--client %q: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", c.client, code, c.want, out, errOut)
		}
	}
	f := writeCampaign(t, "name: x\ncells:\n  - {name: ok, target: redis}\n  - name: mine\n    target: redis\n    client: "+missing+"\n")
	code, out, errOut := lockstorm(t, "campaign", "--store", t.TempDir(), f)
	want := `c.yaml:4: cell "mine": client: ` + missing + ": the program " + missing + " does not exist on this machine"
	if code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("campaign: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
	}
}

// A store path that is a symbolic link to nothing, a dangling
// store/latest given to check or serve, and a store/latest that is not a
// link, are named with what is wrong ("mkdir: file exists" said nothing).
func TestDanglingStorePathsAreNamed(t *testing.T) {
	base := t.TempDir()
	dangling := filepath.Join(base, "store")
	if err := os.Symlink(filepath.Join(base, "elsewhere"), dangling); err != nil {
		t.Fatal(err)
	}
	why := dangling + " is a symbolic link to " + filepath.Join(base, "elsewhere") + ", which does not exist"
	shard := writeShard(t, "20260101T000000.000", "1/1")
	f := writeCampaign(t, "name: x\ncells:\n  - {target: inmemory, nodes: 1, time-limit: 1s}\n")
	for _, args := range [][]string{
		{"run", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--store", dangling},
		{"run", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--store", filepath.Join(dangling, "sub")},
		{"campaign", "--store", dangling, f},
		{"report", "merge", "--store", dangling, shard},
		{"serve", dangling},
	} {
		code, out, errOut := lockstorm(t, args...)
		if code != exitUsage || !strings.Contains(errOut, why) {
			t.Errorf("%q: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", args, code, why, out, errOut)
		}
	}
	st := t.TempDir()
	latest := filepath.Join(st, "latest")
	if err := os.Symlink("cell/20260101T000000.000", latest); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := lockstorm(t, "check", latest); code != exitUsage || !strings.Contains(errOut, latest+" is a symbolic link to cell/20260101T000000.000, which does not exist") {
		t.Errorf("check of a dangling latest: exit %d\n%s", code, errOut)
	}
	if err := os.Remove(latest); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(latest, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--store", st)
	if code != exitUsage || !strings.Contains(errOut, latest+" is not a symbolic link") {
		t.Errorf("a store whose latest is a directory: exit %d\n%s", code, errOut)
	}
}

// check DIR rewrites the run's results and pages as files of its own: a
// report name that is a symbolic link to a file elsewhere is refused,
// naming it, and that file is left as it was.
func TestCheckRefusesToWriteThroughALinkInTheRunDirectory(t *testing.T) {
	for _, name := range []string{store.IndexFile, store.LinearizabilityFile, store.ResultsFile} {
		dir := t.TempDir()
		hist := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}
{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k"}
`
		if err := os.WriteFile(filepath.Join(dir, store.HistoryFile), []byte(hist), 0o644); err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(t.TempDir(), "somefile")
		if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := lockstorm(t, "check", dir)
		if code != exitUsage || !strings.Contains(errOut, filepath.Join(dir, name)+" points to "+victim) {
			t.Errorf("%s: exit %d, want 3 naming the link\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep me" {
			t.Errorf("%s: check wrote through the link: %q", name, b)
		}
	}
}
