package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/lockstorm/lockstorm/runtime"
)

// watchEngine returns a context that ends when rt takes its engine as
// stuck (runtime.EngineWatcher), with the unanswered call, wrapped in
// ErrInfrastructure, as its cause: the run then stops at once, heals and
// tears down what it can, instead of waiting out every call. stop
// releases the watch.
func watchEngine(ctx context.Context, rt runtime.Runtime) (_ context.Context, stop func()) {
	w, ok := rt.(runtime.EngineWatcher)
	if !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-w.Stuck():
			cancel(fmt.Errorf("%w: %w", ErrInfrastructure, w.StuckOn()))
		case <-done:
		case <-ctx.Done():
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// engineCause returns err, or the engine's EngineError when ctx ended
// because the engine stopped answering and err does not say so already.
func engineCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if ctx.Err() == nil || !errors.Is(cause, runtime.ErrEngineStuck) || errors.Is(err, runtime.ErrEngineStuck) {
		return err
	}
	return cause
}
