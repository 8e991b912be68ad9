package harness

import (
	"fmt"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets/process"
)

// CheckClient refuses, before anything starts, a protocol client whose
// program or script is missing on this machine (process.Check). The error
// wraps ErrBadConfig and carries a *plan.FieldError that names the client.
func CheckClient(p plan.Plan) error {
	if err := process.Check(p); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return nil
}
