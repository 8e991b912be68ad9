package nemesis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// stubCluster is a cluster that Applicable may look at but never runs
// anything.
type stubCluster struct{ runtime.Cluster }

// bareTarget runs in containers but offers none of the optional
// interfaces, like a Go server that cannot be paused by name.
type bareTarget struct{}

func (bareTarget) Name() string                              { return "bare" }
func (bareTarget) Description() string                       { return "no optional powers" }
func (bareTarget) DefaultNodes() int                         { return 3 }
func (bareTarget) Setup(context.Context, *targets.Env) error { return nil }
func (bareTarget) Lease() time.Duration                      { return time.Second }
func (bareTarget) NewClient(context.Context, int) (targets.Client, error) {
	return nil, errors.New("no clients")
}
func (bareTarget) Teardown(context.Context) error { return nil }

// shimlessServers names its servers but reads the clock without libc.
type shimlessServers struct{ bareTarget }

func (shimlessServers) ServerProcess(string) string               { return "etcd" }
func (shimlessServers) StartServer(context.Context, string) error { return nil }
func (shimlessServers) ClockShimmed() bool                        { return false }

func TestApplicableSaysWhyNot(t *testing.T) {
	three := []string{"n1", "n2", "n3"}
	cases := []struct {
		name    string
		nem     nemesis.Nemesis
		env     *nemesis.Env
		wantErr string
	}{
		{"partition in process", nemesis.Partition{}, &nemesis.Env{Target: targets.NewInMemory(), Nodes: three}, "runs in process"},
		{"partition one node", nemesis.Partition{}, &nemesis.Env{Cluster: stubCluster{}, Target: bareTarget{}, Nodes: three[:1]}, "at least 2 nodes"},
		{"partition three nodes", nemesis.Partition{}, &nemesis.Env{Cluster: stubCluster{}, Target: bareTarget{}, Nodes: three}, ""},
		{"pause without Servers", nemesis.Pause{}, &nemesis.Env{Cluster: stubCluster{}, Target: bareTarget{}, Nodes: three}, "targets.Servers"},
		{"kill without Servers", nemesis.Kill{}, &nemesis.Env{Cluster: stubCluster{}, Target: bareTarget{}, Nodes: three}, "targets.Servers"},
		{"pause with Servers", nemesis.Pause{}, &nemesis.Env{Cluster: stubCluster{}, Target: shimlessServers{}, Nodes: three}, ""},
		{"pause primaries without Primaries", nemesis.Pause{}, &nemesis.Env{Cluster: stubCluster{}, Target: shimlessServers{}, Nodes: three,
			Opts: map[string]string{"pause.mode": "one,primaries"}}, "cannot name them"},
		{"clock on Go servers", nemesis.Clock{}, &nemesis.Env{Cluster: stubCluster{}, Target: shimlessServers{}, Nodes: three}, "without libc (Go)"},
		{"clock in process", nemesis.Clock{}, &nemesis.Env{Target: targets.NewInMemory(), Nodes: three}, "runs in process"},
	}
	for _, c := range cases {
		err := c.nem.Applicable(c.env)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want applicable", c.name, err)
		case c.wantErr != "" && (!errors.Is(err, nemesis.ErrNotApplicable) || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want ErrNotApplicable saying %q", c.name, err, c.wantErr)
		}
	}
}
