package image

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A second holder waits, and is told once that it waits; the first is not.
func TestLockBuildExcludesASecondHolder(t *testing.T) {
	lockDir = t.TempDir()
	waits := 0
	waiting := func() { waits++ }
	unlock, err := lockBuild(context.Background(), waiting)
	if err != nil {
		t.Fatal(err)
	}
	if waits != 0 {
		t.Errorf("the first holder was told %d times that it waits", waits)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	if _, err := lockBuild(ctx, waiting); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lockBuild while held: err = %v, want deadline exceeded", err)
	}
	if waits != 1 {
		t.Errorf("the second holder was told %d times that it waits, want once", waits)
	}
	unlock()
	unlock2, err := lockBuild(context.Background(), nil)
	if err != nil {
		t.Fatalf("lockBuild after release: %v", err)
	}
	unlock2()
}
