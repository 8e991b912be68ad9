package etcd

import (
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/targets"
)

// Election elects leaders with etcd's election API, the concurrency
// package's Election: Campaign puts the candidate's key on its session's
// lease and waits until every older key is gone; Resign deletes it. For
// the workloads, a campaign that wins is a grant, a leader's term is a
// hold, and resigning is a release; the leader-election workload is what
// it is for. The token is the create revision of the leader's key
// (Election.Rev).
//
// Campaign does not look at its own key again once the older keys are
// gone: a candidate whose session lease expired while it waited is told
// it won, although its key went with the lease (a phantom leader, as
// users of the API have reported). This binding keeps that behaviour, as
// it is the API's.
type Election struct {
	members
}

// NewElection returns the etcd-election target.
func NewElection() *Election { return &Election{} }

// Name implements targets.Service.
func (*Election) Name() string { return "etcd-election" }

// etcdProclaimOpt makes a leader confirm its leadership with Proclaim
// before each act (targets.Checker): a leader whose key is gone, or that
// cannot reach the cluster to tell, stops acting.
var etcdProclaimOpt = option.Choice{Name: "etcd-election.proclaim", Default: "off", Choices: []string{"off", "on"},
	Help: "on: a leader proclaims before each act (Election.Proclaim, a write conditioned on its key's revision) and stops when that fails"}

// Describe implements targets.Service: the cluster of the etcd target, its
// members' Raft timing, and whether leaders proclaim.
func (*Election) Describe() targets.Descriptor {
	return etcdDescriptor("etcd cluster (3.4, or etcd.version), concurrency.Election (Campaign, Resign) on a leased session per client; token = leader key create revision",
		etcdHeartbeatOpt, etcdElectionOpt, etcdProclaimOpt)
}

// Binding implements targets.Service.
func (*Election) Binding() targets.Binding { return etcdElectionBinding{} }
