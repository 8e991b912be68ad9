package keepfailed

import (
	"os"
	"path/filepath"
	"testing"
)

// failingTB is a fake testing.TB that reports a failure and collects the
// cleanups, so that the cleanup of OnFailure can be run by hand.
type failingTB struct {
	testing.TB
	failed   bool
	cleanups []func()
	logs     []string
}

func (f *failingTB) Helper()             {}
func (f *failingTB) Failed() bool        { return f.failed }
func (f *failingTB) Name() string        { return "TestSome/sub case" }
func (f *failingTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *failingTB) Logf(string, ...any) { f.logs = append(f.logs, "log") }
func (f *failingTB) run() {
	for _, fn := range f.cleanups {
		fn()
	}
}

func TestAFailedTestsStoreIsKeptAndAPassingOnesIsNot(t *testing.T) {
	keep := t.TempDir()
	t.Setenv(EnvDir, keep)
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "redis-mutex-none", "run1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "redis-mutex-none", "run1", "history.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pass := &failingTB{}
	OnFailure(pass, src)
	pass.run()
	if got, _ := filepath.Glob(filepath.Join(keep, "*")); len(got) != 0 {
		t.Fatalf("a passing test's store was kept: %v", got)
	}
	fail := &failingTB{failed: true}
	OnFailure(fail, src)
	fail.run()
	got, _ := filepath.Glob(filepath.Join(keep, "TestSome_sub_case-*", "redis-mutex-none", "run1", "history.jsonl"))
	if len(got) != 1 || len(fail.logs) != 1 {
		t.Fatalf("kept %v, logs %v: want the history copied and its place logged", got, fail.logs)
	}
}
