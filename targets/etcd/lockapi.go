package etcd

import (
	"github.com/lockstorm/lockstorm/targets"
)

// LockAPI locks through etcd's server-side Lock service (the v3lock
// gRPC API, which etcd also serves on its JSON gateway at /v3/lock/lock):
// the client grants a lease, keeps it alive, and asks the member to lock a
// name on that lease; the member runs the lock recipe itself and answers
// with the key that owns the lock. This is the API that clients in other
// languages call (jetcd's Lock client, for one), and the one behind etcd
// issue 11456 from Jepsen's analysis of etcd 3.4.3. The fencing token is
// the create revision of the ownership key.
//
// It runs on the same etcd cluster as the etcd target (members), with the
// same settings.
type LockAPI struct {
	members
}

// NewLockAPI returns the etcd-lockapi target.
func NewLockAPI() *LockAPI { return &LockAPI{} }

// Name implements targets.Service.
func (*LockAPI) Name() string { return "etcd-lockapi" }

// Describe implements targets.Service: the cluster of the etcd target, and its
// members' Raft timing.
func (*LockAPI) Describe() targets.Descriptor {
	return etcdDescriptor("etcd cluster (3.4, or etcd.version), the server-side Lock API (v3lock) on a lease the client keeps alive; token = ownership key create revision",
		etcdHeartbeatOpt, etcdElectionOpt)
}

// Binding implements targets.Service.
func (*LockAPI) Binding() targets.Binding { return etcdLockAPIBinding{} }
