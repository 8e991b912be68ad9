package harness

import (
	"context"

	"github.com/lockstorm/lockstorm/targets"
)

// askVersion asks a service that can say it (targets.Versioner) which
// version of its server runs, for at most targets.VersionTimeout, and
// records the answer in the run's result. A service that cannot say, or
// does not answer, leaves the version empty, with a warning in the run's
// log for the latter: the run goes on.
func (r *run) askVersion(ctx context.Context) {
	v, ok := r.Service.(targets.Versioner)
	if !ok {
		return
	}
	vctx, cancel := context.WithTimeout(ctx, targets.VersionTimeout)
	defer cancel()
	version, err := v.ServerVersion(vctx)
	if err != nil {
		r.log.Warn("the server did not say its version", "err", err)
		return
	}
	r.res.ServerVersion = version
	r.log.Info("server", "version", version)
}
