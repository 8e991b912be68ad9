// Package all is the list of lockstorm's own lock services: one entry
// per service package under targets/. It is the one place that names
// them all, and so the one package besides the service packages that
// links their client libraries. The command line registers the list
// (Register) before it looks a target up; the packages that depend on the
// contract (targets) alone, the harness among them, never import this
// one.
package all

import (
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/etcd"
	"github.com/lockstorm/lockstorm/targets/inmemory"
	"github.com/lockstorm/lockstorm/targets/mariadb"
	"github.com/lockstorm/lockstorm/targets/memcached"
	"github.com/lockstorm/lockstorm/targets/natskv"
	"github.com/lockstorm/lockstorm/targets/postgres"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/zookeeper"
)

// Services returns the constructors of lockstorm's own services, in the
// order `lockstorm targets` lists them. Add a new service here.
func Services() []func() targets.Service {
	return []func() targets.Service{
		func() targets.Service { return inmemory.New() },
		func() targets.Service { return etcd.New() },
		func() targets.Service { return etcd.NewLockAPI() },
		func() targets.Service { return etcd.NewElection() },
		func() targets.Service { return zookeeper.New() },
		func() targets.Service { return redis.New() },
		func() targets.Service { return redis.NewRedlock() },
		func() targets.Service { return redis.NewSentinel() },
		func() targets.Service { return postgres.NewAdvisory() },
		func() targets.Service { return postgres.NewRow() },
		func() targets.Service { return postgres.NewRowExpiry() },
		func() targets.Service { return mariadb.New() },
		func() targets.Service { return memcached.New() },
		func() targets.Service { return natskv.New() },
	}
}

// Register registers lockstorm's own services (targets.Register). It may
// be called more than once.
func Register() { targets.Register(Services()...) }
