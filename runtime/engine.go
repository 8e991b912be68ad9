package runtime

import (
	"errors"
	"fmt"
	"time"
)

// ErrEngineStuck means that the container engine stopped answering: a call
// got no answer within its deadline, so this process makes no more calls
// to it. Callers test it with errors.Is to stop starting work.
var ErrEngineStuck = errors.New("the container engine stopped answering")

// EngineAdvice is what a user can do about an engine that stopped
// answering; messages that report ErrEngineStuck end with it.
const EngineAdvice = "restart the container engine (for Docker: systemctl restart docker), then run `lockstorm clean` to remove what the run left"

// An EngineError is a call to the container engine that got no answer
// within its deadline, or one refused at once because an earlier call got
// none. It is ErrEngineStuck for errors.Is.
type EngineError struct {
	// Call names the call, for example "POST /networks/create".
	Call string
	// Waited is how long the call waited for an answer.
	Waited time.Duration
	// Earlier is set when this call was not made because an earlier one,
	// described by Earlier, got no answer.
	Earlier *EngineError
}

func (e *EngineError) Error() string {
	if e.Earlier != nil {
		return fmt.Sprintf("%s not sent: the container engine stopped answering earlier (%v)", e.Call, e.Earlier)
	}
	return fmt.Sprintf("the container engine did not answer %s within %s", e.Call, e.Waited)
}

// Is makes an EngineError match ErrEngineStuck.
func (e *EngineError) Is(target error) bool { return target == ErrEngineStuck }

// EngineStuck returns the first engine call that got no answer, from an
// error that wraps an EngineError, and whether there was one.
func EngineStuck(err error) (*EngineError, bool) {
	var e *EngineError
	if !errors.As(err, &e) {
		return nil, false
	}
	for e.Earlier != nil {
		e = e.Earlier
	}
	return e, true
}

// An EngineWatcher is a Runtime that can tell when its engine stopped
// answering, so that a run stops at once instead of failing call by call.
type EngineWatcher interface {
	// Stuck returns a channel that is closed when the engine is taken as
	// stuck.
	Stuck() <-chan struct{}
	// StuckOn returns the call that went unanswered first, or nil.
	StuckOn() *EngineError
}
