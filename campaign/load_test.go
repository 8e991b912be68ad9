//go:build unix

package campaign

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/store"
)

// specialFiles are inputs that are not regular files: a FIFO nobody writes
// to (an ordinary open blocks forever), a device that never ends, and a
// directory.
func specialFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	m := map[string]string{fifo: "a FIFO", dir: "a directory"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		m["/dev/zero"] = "a character device"
	}
	return m
}

func TestLoadRefusesWhatIsNotARegularFileAtOnce(t *testing.T) {
	for path, kind := range specialFiles(t) {
		err := wait.Within(2*time.Second, func() error { _, err := Load(path); return err })
		if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), path+": not a regular file (it is "+kind+")") {
			t.Errorf("Load(%s) = %v; want ErrBadFile naming the file as %s", path, err, kind)
		}
	}
}

func TestLoadAndParseRefuseAFileOverTheLimit(t *testing.T) {
	big := []byte("name: x\n" + strings.Repeat("#", MaxFileSize))
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Load(path)
	if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("Load of %d bytes = %v; want ErrBadFile naming the file and the 1 MiB limit", len(big), err)
	}
	if _, err := Parse(big, "big.yaml"); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "big.yaml") || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("Parse of %d bytes = %v", len(big), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %s", d)
	}
	ok := filepath.Join(t.TempDir(), "ok.yaml")
	if err := os.WriteFile(ok, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(ok); err != nil || len(f.Expand()) != 4 {
		t.Errorf("Load of a good file: %v", err)
	}
}

// A matrix of a few KB can stand for more cells than memory holds: it is
// refused from its size before any cell is made.
func TestAHugeMatrixIsRefusedBeforeItIsExpanded(t *testing.T) {
	list := "[" + strings.TrimSuffix(strings.Repeat("inmemory,", 300), ",") + "]"
	in := "name: m\nmatrix:\n  - targets: " + list + "\n    workloads: " + list + "\n    nemeses: " + list + "\n"
	start := time.Now()
	_, err := Parse([]byte(in), "m.yaml")
	if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "m.yaml:1: 27000000 cells; a campaign may have at most 1000") {
		t.Errorf("Parse = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %s", d)
	}
	// Lengths whose product overflows count as too many, not as few.
	huge := make([]string, 1<<21)
	f := &File{Matrix: []MatrixSpec{{Targets: huge, Workloads: huge, Nemeses: huge}}, Cells: make([]CellSpec, 3)}
	if n := f.cellCount(); n != math.MaxInt {
		t.Errorf("cellCount of 2^63 cells = %d, want MaxInt", n)
	}
	f.Matrix = []MatrixSpec{{Targets: []string{"a"}, Workloads: []string{"b", "c"}}}
	if n := f.cellCount(); n != 5 {
		t.Errorf("cellCount = %d, want 3 cells + 1×2×1", n)
	}
}

func TestShardMustBeExactlyIOverN(t *testing.T) {
	for _, s := range []string{"1/1", "1/2", "2/2", "7/1000", "1000/1000"} {
		if _, _, err := ParseShard(s); err != nil {
			t.Errorf("ParseShard(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "1/2x", "x1/2", " 1/2", "1/2 ", "1 /2", "+1/2", "-1/2", "0/2", "3/2", "01/2", "1/02",
		"1/1001", "1/99999999999999999999", "1/2/3", "1", "1/", "/2", "1.0/2", "1/0", "١/٢"} {
		if i, n, err := ParseShard(s); err == nil || !strings.Contains(err.Error(), "--shard") {
			t.Errorf("ParseShard(%q) = %d, %d, %v; want an error naming --shard", s, i, n, err)
		}
	}
}

func TestMergeRefusesSpecialFilesAndOversizedShards(t *testing.T) {
	root := t.TempDir()
	for path, kind := range specialFiles(t) {
		if kind == "a directory" {
			continue // a directory is a shard: its results.json is read
		}
		err := wait.Within(2*time.Second, func() error { _, _, err := Merge(root, []string{path}); return err })
		if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), kind) {
			t.Errorf("Merge(%s) = %v; want ErrBadFile naming the file as %s", path, err, kind)
		}
	}
	// A shard with more runs than a campaign may have.
	c := store.CampaignResult{Name: "x", Cells: []store.CellResult{{Name: "a", Runs: make([]store.CellRun, MaxRuns+1)}}}
	b, _ := json.Marshal(c)
	path := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Merge(root, []string{path}); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "10001 runs; a campaign may have at most 10000") {
		t.Errorf("Merge of %d runs = %v", MaxRuns+1, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, store.CampaignsDir)); len(ents) != 0 {
		t.Errorf("a refused merge wrote %d campaigns", len(ents))
	}
}

func TestHostsKeyNamesAFileNextToTheCampaign(t *testing.T) {
	dir := t.TempDir()
	body := "name: x\nhosts: hosts.yaml\ncells:\n  - {target: inmemory, workload: contention, nemesis: none, expect: safe}\n"
	path := filepath.Join(dir, "c.yaml")
	if _, err := Parse([]byte(body), path); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), path+":2: hosts:") {
		t.Fatalf("missing inventory: %v, want an error at %s:2", err, path)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte("hosts: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(body), path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Hosts != filepath.Join(dir, "hosts.yaml") {
		t.Errorf("Hosts = %q", f.Hosts)
	}
}
