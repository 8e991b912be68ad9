package image

import (
	"context"
	"fmt"
	"os"

	"github.com/lockstorm/lockstorm/internal/hostlock"
)

// lockName is the file, in the temporary directory, that processes building
// the image lock so that two of them do not build the same image at once.
const lockName = "lockstorm-image-build.lock"

// lockDir is where the lock file lives; tests point it elsewhere.
var lockDir = os.TempDir()

// lockBuild takes an exclusive flock shared by every lockstorm process on
// this host, waiting until ctx ends. waiting, if not nil, is called once
// when the lock is found held, before the wait. The returned func releases
// the lock.
func lockBuild(ctx context.Context, waiting func()) (func(), error) {
	unlock, err := hostlock.AcquireTelling(ctx, hostlock.Path(lockDir, lockName), 0, waiting)
	if err != nil {
		return nil, fmt.Errorf("build lock: %w", err)
	}
	return unlock, nil
}
