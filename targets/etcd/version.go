package etcd

import (
	"context"
	"errors"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: the version in the status of
// the first member that answers (the admin client's Status, which reads no
// key).
func (e *members) ServerVersion(ctx context.Context) (string, error) {
	admin := e.adminClient()
	if admin == nil {
		return "", errors.New("etcd: not set up")
	}
	return targets.FirstAnswer(ctx, e.nodes, 3*time.Second, func(ctx context.Context, n string) (string, error) {
		st, err := admin.Status(ctx, e.endpoints(n)[0])
		if err != nil {
			return "", err
		}
		return etcdVersion(st.Version)
	})
}

// etcdVersion is the Versioner's answer for the Version of a member's
// status ("3.4.23").
func etcdVersion(status string) (string, error) {
	return targets.ServerVersionOf("etcd", status)
}

var (
	_ targets.Versioner = (*Mutex)(nil)
	_ targets.Versioner = (*LockAPI)(nil)
	_ targets.Versioner = (*Election)(nil)
)
