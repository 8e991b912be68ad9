package history

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestdataRefusals replays the histories in testdata/ that the reader
// must refuse. Each NAME.jsonl comes with NAME.want, the error (file:line
// and message) the reader must give, for the whole read and for the split.
func TestTestdataRefusals(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no histories in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(strings.TrimSuffix(f, ".jsonl") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			want := "testdata/" + strings.TrimSpace(string(raw))
			_, err = ReadFile(f)
			if !errors.Is(err, ErrMalformed) || err.Error() != want {
				t.Errorf("ReadFile:\n got %v\nwant %s", err, want)
			}
			_, err = ReadSplitFile(f)
			if !errors.Is(err, ErrMalformed) || err.Error() != want {
				t.Errorf("ReadSplitFile:\n got %v\nwant %s", err, want)
			}
		})
	}
}
