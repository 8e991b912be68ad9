package nemesis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/etcd"
	"github.com/lockstorm/lockstorm/targets/inmemory"
	"github.com/lockstorm/lockstorm/targets/mariadb"
	"github.com/lockstorm/lockstorm/targets/memcached"
	"github.com/lockstorm/lockstorm/targets/natskv"
)

// bareTarget runs in containers but offers none of the optional
// interfaces, like a Go server that cannot be paused by name.
type bareTarget struct{}

func (bareTarget) Name() string { return "bare" }
func (bareTarget) Describe() targets.Descriptor {
	return targets.Descriptor{Description: "no optional powers", DefaultNodes: 3}
}
func (bareTarget) Prepare(*plan.Plan) (time.Duration, error) { return time.Second, nil }
func (bareTarget) Setup(context.Context, *targets.Env) (time.Duration, error) {
	return time.Second, nil
}
func (bareTarget) Binding() targets.Binding       { return nil }
func (bareTarget) Teardown(context.Context) error { return nil }

// shimlessServers names its servers but reads the clock without libc.
type shimlessServers struct{ bareTarget }

func (shimlessServers) ServerProcess(string) string               { return "etcd" }
func (shimlessServers) StartServer(context.Context, string) error { return nil }
func (shimlessServers) ClockShimmed() bool                        { return false }

// goServers says why the shim cannot move its clock.
type goServers struct{ shimlessServers }

func (goServers) WhyNoClockShim() string { return "are Go" }

func TestApplicableSaysWhyNot(t *testing.T) {
	on := func(svc targets.Service, n int, opts option.Values) *nemesis.Env {
		p := &plan.Plan{Options: opts}
		for i := 1; i <= n; i++ {
			p.Nodes = append(p.Nodes, plan.Node{Name: fmt.Sprintf("n%d", i)})
		}
		return &nemesis.Env{Service: svc, Plan: p}
	}
	cases := []struct {
		name    string
		nem     nemesis.Nemesis
		env     *nemesis.Env
		wantErr string
	}{
		{"partition in process", nemesis.Partition{}, on(inmemory.New(), 3, nil), "runs in process"},
		{"partition one node", nemesis.Partition{}, on(bareTarget{}, 1, nil), "at least 2 nodes"},
		{"partition three nodes", nemesis.Partition{}, on(bareTarget{}, 3, nil), ""},
		{"pause without Servers", nemesis.Pause{}, on(bareTarget{}, 3, nil), "targets.Servers"},
		{"kill without Servers", nemesis.Kill{}, on(bareTarget{}, 3, nil), "targets.Servers"},
		{"pause with Servers", nemesis.Pause{}, on(shimlessServers{}, 3, nil), ""},
		{"pause primaries without Primaries", nemesis.Pause{}, on(shimlessServers{}, 3, option.Values{"pause.mode": "one,primaries"}), "cannot name them"},
		{"clock on unshimmed servers", nemesis.Clock{}, on(shimlessServers{}, 3, nil), "servers do not run with the clock shim"},
		{"clock on servers that say why", nemesis.Clock{}, on(goServers{}, 3, nil), "target bare's servers are Go"},
		{"clock on memcached", nemesis.Clock{}, on(memcached.New(), 1, nil), "CLOCK_MONOTONIC"},
		{"clock on mariadb", nemesis.Clock{}, on(mariadb.New(), 1, nil), "on no clock"},
		{"clock on nats-kv", nemesis.Clock{}, on(natskv.New(), 3, nil), "are Go and read the clock without libc"},
		{"clock on etcd-lockapi", nemesis.Clock{}, on(etcd.NewLockAPI(), 3, nil), "are Go and read the clock without libc"},
		{"clock in process", nemesis.Clock{}, on(inmemory.New(), 3, nil), "runs in process"},
	}
	for _, c := range cases {
		err := c.nem.Describe().Applicable(c.env)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want applicable", c.name, err)
		case c.wantErr != "" && (!errors.Is(err, nemesis.ErrNotApplicable) || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want ErrNotApplicable saying %q", c.name, err, c.wantErr)
		}
	}
}
