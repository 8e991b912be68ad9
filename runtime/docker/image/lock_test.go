package image

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockBuildExcludesASecondHolder(t *testing.T) {
	lockDir = t.TempDir()
	unlock, err := lockBuild(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	if _, err := lockBuild(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lockBuild while held: err = %v, want deadline exceeded", err)
	}
	unlock()
	unlock2, err := lockBuild(context.Background())
	if err != nil {
		t.Fatalf("lockBuild after release: %v", err)
	}
	unlock2()
}
