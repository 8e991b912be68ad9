package etcd

import (
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/targets"
)

// Mutex is the etcd target: the official Go client's concurrency.Mutex
// per lock key, on a leased session per client. The fencing token is the
// create revision of the client's key under the lock prefix, which etcd
// makes strictly increasing across grants.
type Mutex struct {
	members
}

// etcdAcquireOpt is how the Go binding of the etcd target acquires.
var etcdAcquireOpt = option.Choice{Name: "etcd.acquire", Default: "lock", Choices: []string{"lock", "trylock"},
	Help: "Mutex.Lock (queue and wait) or Mutex.TryLock retried until the wait budget ends"}

// New returns the etcd target.
func New() *Mutex { return &Mutex{} }

// Name implements targets.Service.
func (*Mutex) Name() string { return "etcd" }

// Describe implements targets.Service: three members by default, the smallest
// cluster that survives the loss of one.
func (*Mutex) Describe() targets.Descriptor {
	return etcdDescriptor("etcd cluster (3.4, or etcd.version), concurrency.Mutex on a leased session per client; token = key create revision",
		etcdHeartbeatOpt, etcdElectionOpt, etcdAcquireOpt)
}

// Binding implements targets.Service.
func (*Mutex) Binding() targets.Binding { return etcdBinding{} }
