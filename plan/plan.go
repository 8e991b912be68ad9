// Package plan holds the resolved plan of a run: one plain value with
// everything the run uses, from the seed and the nodes to the lease the
// servers granted and the fault schedule. The harness builds it before
// anything starts and completes it after Setup; the schedule generator,
// the workloads, the nemeses and the reports read it and nothing else, and
// results.json keeps it, so that a run can be reproduced from its report.
package plan

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/lockstorm/lockstorm/option"
)

// HoldAuto as Plan.Hold asks for a critical section sized to how the
// target's grants expire; resolution replaces it and sets HoldAuto.
const HoldAuto time.Duration = -1

// A Plan is one run. As input (harness.Config, a campaign cell) a zero
// field means "the default"; Resolve fills in every one.
type Plan struct {
	// Target is the lock service, e.g. "redis".
	Target string `json:"target"`
	// Client says who speaks to the service: ClientGo (lockstorm's Go
	// binding, in the harness process), ClientProcess (the same binding
	// as `lockstorm client` processes in client containers) or the
	// command of a protocol client (docs/protocol.md).
	Client string `json:"client,omitempty"`
	// Workload is what the clients do, e.g. "mutex"; Variant selects one
	// of its variants ("" for its default).
	Workload string `json:"workload"`
	Variant  string `json:"variant,omitempty"`
	// Nemeses are the fault families of the run, in the order given.
	Nemeses []string `json:"nemeses"`
	// Seed drives the fault schedule and every random choice of the
	// workload.
	Seed int64 `json:"seed"`
	// TimeLimit is how long the workload runs.
	TimeLimit time.Duration `json:"time_limit"`
	// Concurrency is the number of client workers; Rate the lock
	// attempts per second over all of them (0: as fast as the lock
	// allows).
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	// NemesisInterval is the time from one fault's start to the next.
	NemesisInterval time.Duration `json:"nemesis_interval"`
	// Nodes are the server nodes; after Setup they carry the addresses
	// and ports that clients dial.
	Nodes []Node `json:"nodes"`
	// TTL is the lease asked for (--ttl).
	TTL time.Duration `json:"ttl"`
	// Lease is the lease the service honours: before Setup the one the
	// target expects to get for TTL, after Setup the one its servers
	// granted (etcd rounds up to whole seconds, ZooKeeper negotiates).
	// Every acquire records it, and the checkers reason with it.
	Lease time.Duration `json:"lease"`
	// Hold is the work inside the critical section; HoldAuto says that it
	// was sized from the lease rather than asked for.
	Hold     time.Duration `json:"hold"`
	HoldAuto bool          `json:"hold_auto,omitempty"`
	// Keys is the number of distinct lock keys.
	Keys int `json:"keys"`
	// Fencing makes the trusted resource reject stale tokens.
	Fencing bool `json:"fencing"`
	// Wait is how long one acquire may wait and retry (--wait).
	Wait time.Duration `json:"wait"`
	// OpTimeout bounds one lock call; a call that runs out is
	// indeterminate.
	OpTimeout time.Duration `json:"op_timeout"`
	// CheckBudget bounds the linearizability search.
	CheckBudget time.Duration `json:"check_budget"`
	// StopAfterViolation, when above zero, ends the workload that long
	// after the first violation shown while the run goes (as if the time
	// limit had come): heal, quiesce, the liveness probe, teardown and the
	// final check then run as usual (--stop-after-violation, a campaign
	// cell's stop-after-violation: for cells that expect unsafe). 0 runs
	// the workload for its whole time limit.
	StopAfterViolation time.Duration `json:"stop_after_violation,omitempty"`
	// Judge names the checkers whose verdicts decide the run's (--judge,
	// a campaign cell's judge:); empty means every checker. The others
	// still run, and the report shows what they found.
	Judge []string `json:"judge,omitempty"`
	// Options are target-, workload- and nemesis-specific settings.
	Options option.Values `json:"options,omitempty"`
	// Schedule is the fault schedule, drawn once from Seed, or read
	// from ScheduleFile.
	Schedule Schedule `json:"schedule"`
	// ScheduleFile, when set, names the file the schedule was read from
	// (--schedule): Schedule was given rather than drawn, and Resolve
	// checks it instead of drawing one.
	ScheduleFile string `json:"schedule_file,omitempty"`
}

// The kinds of client a plan can name.
const (
	// ClientGo runs lockstorm's Go binding of the target inside the
	// harness, one goroutine per client.
	ClientGo = "go"
	// ClientProcess runs the same binding as `lockstorm client`
	// processes, one per client, in client containers.
	ClientProcess = "process"
)

// A Node is one server node of the run.
type Node struct {
	// Name is n1..nN.
	Name string `json:"name"`
	// IP is the node's address on the run's network ("" before the
	// cluster starts, and for in-process targets).
	IP string `json:"ip,omitempty"`
	// Ports are the service's ports on the node, by role ("redis",
	// "sentinel", "client").
	Ports map[string]int `json:"ports,omitempty"`
}

// NodeNames returns the names of the plan's nodes, in order.
func (p *Plan) NodeNames() []string {
	out := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = n.Name
	}
	return out
}

// WorkloadLabel names the workload with its variant, e.g.
// "payment-idempotency-key", for cell and directory names.
func (p *Plan) WorkloadLabel() string {
	if p.Variant == "" {
		return p.Workload
	}
	return p.Workload + "-" + p.Variant
}

// Node returns the plan's node called name.
func (p *Plan) Node(name string) (Node, bool) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Addr returns "ip:port" of the node called name.
func (p *Plan) Addr(name string, port int) (string, error) {
	n, ok := p.Node(name)
	if !ok || n.IP == "" {
		return "", fmt.Errorf("no address for node %q", name)
	}
	return net.JoinHostPort(n.IP, strconv.Itoa(port)), nil
}

// NodeByIP returns the name of the node with address ip.
func (p *Plan) NodeByIP(ip string) (string, bool) {
	for _, n := range p.Nodes {
		if n.IP == ip {
			return n.Name, true
		}
	}
	return "", false
}

// NodeFor spreads client processes over the nodes round-robin: the node
// that process talks to first.
func (p *Plan) NodeFor(process int) string {
	if len(p.Nodes) == 0 {
		return ""
	}
	if process < 0 {
		process = -process
	}
	return p.Nodes[process%len(p.Nodes)].Name
}
