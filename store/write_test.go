package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile replaces a file with a new one, and refuses a symbolic link
// in its place, leaving the file it points to as it was.
func TestWriteFileNeverWritesThroughALink(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	victim := filepath.Join(elsewhere, "somefile")
	if err := os.WriteFile(victim, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, IndexFile)
	if err := os.Symlink(victim, page); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(page, []byte("report"))
	if !errors.Is(err, ErrLink) || !strings.Contains(err.Error(), page+" points to "+victim) {
		t.Errorf("WriteFile through a link: %v", err)
	}
	if err := WriteJSON(page, 1); !errors.Is(err, ErrLink) {
		t.Errorf("WriteJSON through a link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine" {
		t.Errorf("the file the link points to was overwritten: %q", b)
	}
	plain := filepath.Join(dir, ResultsFile)
	for _, body := range []string{"first", "second"} {
		if err := WriteFile(plain, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(plain); string(b) != body {
			t.Errorf("read back %q, want %q", b, body)
		}
	}
	if st, err := os.Stat(plain); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode of a written file: %v, %v", st.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}
