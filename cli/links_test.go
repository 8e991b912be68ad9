package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
)

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
