package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/lockstorm/lockstorm/harness"
)

// Provision builds or checks, before any cell runs, the server executables
// that the cells' options ask for (etcd.version, nats.binary, ...;
// harness.Provision), so that no run waits for a build. A version that
// does not exist stops the campaign before its first container, with an
// ErrBadFile naming the file, the cell's line and the option; any other
// failure (no go command, a binary that cannot run on the nodes) wraps
// harness.ErrInfrastructure. say receives what the builds report.
func (f *File) Provision(ctx context.Context, cells []Cell, say func(string)) error {
	for _, c := range cells {
		p := c.Plan
		if len(c.Seeds) > 0 {
			p.Seed = c.Seeds[0]
		}
		r, err := harness.Resolve(p)
		if err == nil {
			err = harness.Provision(ctx, r, say)
		}
		switch {
		case errors.Is(err, harness.ErrBadConfig):
			return f.bad(c.Line, "cell %q: %s", c.Name, harness.Reason(err))
		case err != nil:
			return fmt.Errorf("cell %s: %w", c.Name, err)
		}
	}
	return nil
}
