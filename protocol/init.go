package protocol

import (
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// InitFor is the init request of process, assigned to node, in a run of
// p: the facts that lockstorm's Go bindings read from the plan.
func InitFor(p *plan.Plan, keys []string, process int, node string) Init {
	in := Init{
		Process: process, Target: p.Target, Node: node, Keys: keys,
		TTLMillis: p.TTL.Milliseconds(), LeaseMillis: p.Lease.Milliseconds(),
		WaitMillis: p.Wait.Milliseconds(), OpTimeoutMillis: p.OpTimeout.Milliseconds(),
		Options: p.Options,
	}
	for _, n := range p.Nodes {
		in.Nodes = append(in.Nodes, Node{Name: n.Name, IP: n.IP, Ports: n.Ports})
	}
	return in
}

// Plan is the part of a run's plan that init carries, for a binding.
func (in Init) Plan() *plan.Plan {
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	p := &plan.Plan{
		Target: in.Target, TTL: ms(in.TTLMillis), Lease: ms(in.LeaseMillis),
		Wait: ms(in.WaitMillis), OpTimeout: ms(in.OpTimeoutMillis),
		Keys: len(in.Keys), Options: option.Values(in.Options),
	}
	if p.Options == nil {
		p.Options = option.Values{}
	}
	for _, n := range in.Nodes {
		p.Nodes = append(p.Nodes, plan.Node{Name: n.Name, IP: n.IP, Ports: n.Ports})
	}
	return p
}
