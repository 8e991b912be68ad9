package targettest

import (
	"context"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion asks tg, set up by SetUp, which version of its server
// runs, as the harness does after Setup, and fails t unless the answer
// begins with prefix ("etcd 3.4."): the version of the node image's
// Debian package. It returns the answer.
func ServerVersion(t *testing.T, tg targets.Service, prefix string) string {
	t.Helper()
	v, ok := tg.(targets.Versioner)
	if !ok {
		t.Fatalf("%s does not implement targets.Versioner", tg.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), targets.VersionTimeout)
	defer cancel()
	got, err := v.ServerVersion(ctx)
	if err != nil || !strings.HasPrefix(got, prefix) {
		t.Errorf("%s: ServerVersion = %q, %v; want %s...", tg.Name(), got, err, prefix)
	}
	return got
}

// RanVersion fails t unless the run's results.json records a server
// version that begins with prefix.
func RanVersion(t *testing.T, res store.RunResult, prefix string) {
	t.Helper()
	if !strings.HasPrefix(res.ServerVersion, prefix) {
		t.Errorf("%s: the run records server version %q, want %s...", res.Plan.Target, res.ServerVersion, prefix)
	}
}
