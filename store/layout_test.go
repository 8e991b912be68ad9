package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCellNameJoinsNemesesOrSaysNone(t *testing.T) {
	if got := CellName("etcd", "mutex", nil); got != "etcd-mutex-none" {
		t.Errorf("got %s", got)
	}
	if got := CellName("redis", "payment", []string{"pause", "kill"}); got != "redis-payment-pause+kill" {
		t.Errorf("got %s", got)
	}
}

func TestRunDirsNeverCollideAndLatestFollows(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a, idA, err := NewRunDir(root, "c", now)
	if err != nil {
		t.Fatal(err)
	}
	b, idB, err := NewRunDir(root, "c", now)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || idA == idB {
		t.Fatalf("two runs in the same millisecond share %s", a)
	}
	for i, dir := range []string{a, b} {
		res := RunResult{ID: filepath.Base(dir), Cell: "c", Started: now.Add(time.Duration(i) * time.Second)}
		if err := WriteJSON(filepath.Join(dir, ResultsFile), res); err != nil {
			t.Fatal(err)
		}
		if err := UpdateLatest(root, dir); err != nil {
			t.Fatal(err)
		}
	}
	target, err := os.Readlink(filepath.Join(root, LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if target != filepath.Join("c", idB) {
		t.Errorf("latest -> %s, want the newest run c/%s (relative, so the store can move)", target, idB)
	}
	got, err := ReadRunResult(b)
	if err != nil || got.ID != idB {
		t.Errorf("ReadRunResult = %+v, %v", got, err)
	}
}
