package all_test

import (
	"slices"
	"testing"

	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/all"
)

// The list is lockstorm's services in the order `lockstorm targets` has
// always printed them, each a fresh instance with a description.
func TestServicesAreListedInTheirOrder(t *testing.T) {
	want := []string{"inmemory", "etcd", "etcd-lockapi", "etcd-election", "zookeeper", "redis", "redlock",
		"redis-sentinel", "postgres-advisory", "postgres-row", "postgres-row-expiry", "mariadb-getlock",
		"memcached", "nats-kv"}
	var got []string
	for _, f := range all.Services() {
		s := f()
		got = append(got, s.Name())
		if s.Describe().Description == "" || s.Describe().DefaultNodes < 1 {
			t.Errorf("%s: descriptor %+v lacks a description or a default number of nodes", s.Name(), s.Describe())
		}
		if f() == s {
			t.Errorf("%s: the constructor returned the same instance twice", s.Name())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("services %q, want %q", got, want)
	}
	all.Register()
	if names := targets.Names(); len(names) != len(want) {
		t.Errorf("registered %q", names)
	}
}

// Every service that runs servers can say which version of them ran: all
// but the in-memory mutex, which has no server.
func TestEveryServerServiceReportsItsVersion(t *testing.T) {
	for _, f := range all.Services() {
		s := f()
		_, ok := s.(targets.Versioner)
		if want := !targets.IsLocal(s); ok != want {
			t.Errorf("%s: implements targets.Versioner %v, want %v", s.Name(), ok, want)
		}
	}
}
