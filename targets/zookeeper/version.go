package zookeeper

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: the version that the first
// server that answers gives in its answer to srvr (zoo.cfg allows every
// four-letter command), which reads no znode.
func (z *Service) ServerVersion(ctx context.Context) (string, error) {
	if len(z.nodes) == 0 {
		return "", errors.New("zookeeper: not set up")
	}
	return targets.FirstAnswer(ctx, z.nodes, 3*time.Second, func(ctx context.Context, node string) (string, error) {
		timeout := targets.TimeLeft(ctx, 3*time.Second)
		if timeout <= 0 {
			return "", ctx.Err()
		}
		out, err := zkFourLetter(z.addr(node), "srvr", timeout)
		if err != nil {
			return "", err
		}
		return zkVersion(out)
	})
}

// zkVersionRE finds the version line of the srvr command's answer.
var zkVersionRE = regexp.MustCompile(`(?m)^Zookeeper version: (.*)$`)

// zkVersion finds the server's version in its answer to srvr:
// "Zookeeper version: 3.8.0-<git hash>, built on ..." gives
// "zookeeper 3.8.0".
func zkVersion(srvr string) (string, error) {
	m := zkVersionRE.FindStringSubmatch(srvr)
	if m == nil {
		return "", errors.New("zookeeper: no version in the answer to srvr")
	}
	return targets.ServerVersionOf("zookeeper", m[1])
}

var _ targets.Versioner = (*Service)(nil)
