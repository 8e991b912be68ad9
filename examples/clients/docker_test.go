// Package clients_test runs the example protocol clients (docs/clients.md)
// against their targets' real servers, with the Python libraries of the
// node image: each keeps mutual exclusion with no fault, and
// etcd3_lock.py's frozen holder outlives its lease, as docs/clients.md
// records.
package clients_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/store"
)

func TestDockerExampleClients(t *testing.T) {
	testdocker.Need(t)
	bin := testdocker.Lockstorm(t)
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target, client, nemesis string
		want                          checker.Status
	}{
		{"redis-py", "redis", "redis_py_lock.py", "", checker.Valid},
		{"kazoo", "zookeeper", "kazoo_lock.py", "", checker.Valid},
		{"tooz-redis", "redis", "tooz_lock.py redis", "", checker.Valid},
		{"etcd3", "etcd", "etcd3_lock.py", "", checker.Valid},
		{"etcd3-client-pause", "etcd", "etcd3_lock.py", "client-pause", checker.Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := t.TempDir()
			args := []string{"run", "--target", c.target, "--client", filepath.Join(here, c.client),
				"--time-limit", "20s", "--seed", "1", "--store", st, "--quiet"}
			if c.nemesis != "" {
				args = append(args, "--nemesis", c.nemesis)
			}
			out, _ := exec.Command(bin, args...).CombinedOutput()
			dir, err := filepath.EvalSymlinks(filepath.Join(st, "latest"))
			if err != nil {
				t.Fatalf("%v: no run: %v\n%s", args, err, out)
			}
			res, err := store.ReadRunResult(dir)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.want || res.Ops < 20 {
				t.Errorf("%s: %s with %d ops, want %s\n%s", c.client, res.Status, res.Ops, c.want, out)
			}
		})
	}
}
