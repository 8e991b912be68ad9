package natskv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: the version the first server
// that takes a connection announces in its INFO (nats.go's
// ConnectedServerVersion). The servers have no monitoring port, so there is
// no /varz to read. Connecting touches no bucket.
func (n *Service) ServerVersion(ctx context.Context) (string, error) {
	if n.cluster == nil || len(n.nodes) == 0 {
		return "", errors.New("nats: not set up")
	}
	return targets.FirstAnswer(ctx, n.nodes, 3*time.Second, func(ctx context.Context, node string) (string, error) {
		timeout := targets.TimeLeft(ctx, 3*time.Second)
		if timeout <= 0 {
			return "", ctx.Err()
		}
		url := fmt.Sprintf("nats://%s:%d", n.ips[node], natsPort)
		nc, err := nats.Connect(url, nats.Timeout(timeout), nats.NoReconnect(), nats.Name("lockstorm-version"))
		if err != nil {
			return "", err
		}
		defer nc.Close()
		return natsVersion(nc.ConnectedServerVersion())
	})
}

// natsVersion is the Versioner's answer for the version a server announces
// ("2.9.10").
func natsVersion(announced string) (string, error) {
	return targets.ServerVersionOf("nats-server", announced)
}

var _ targets.Versioner = (*Service)(nil)
