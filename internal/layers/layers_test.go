// Package layers holds a test of the import rules of docs/architecture.md.
package layers

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The packages that judge, report and describe a run never link Docker:
// only runtime/docker, the command that wires it in and the test helpers
// do, so that a second runtime is a new package and the checkers run
// anywhere. Every other package of the module is checked, the service
// packages and protocol included.
func TestOnlyTheDockerRuntimeLinksDocker(t *testing.T) {
	out, err := exec.Command("go", "list", module+"/...").Output() // stdout: go list warns on stderr (a store/latest symlink in the tree)
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var free []string
	for _, ip := range strings.Fields(string(out)) {
		p := strings.TrimPrefix(ip, module+"/")
		if p == "runtime/docker" || strings.HasPrefix(p, "runtime/docker/") || p == "cli" || strings.HasPrefix(p, "cmd/") || isTestHelper(ip) || strings.Contains(p, "/testdata/") {
			continue
		}
		free = append(free, p)
	}
	if !slices.Contains(free, "protocol") || !slices.Contains(free, "targets/redis") {
		t.Fatalf("go list gave %v, without protocol or targets/redis", free)
	}
	for _, p := range free {
		out, err := exec.Command("go", "list", "-deps", "github.com/lockstorm/lockstorm/"+p).Output() // stdout: go list warns on stderr (a store/latest symlink in the tree)
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "docker/docker") || strings.Contains(dep, "lockstorm/runtime/docker") || strings.Contains(dep, "dockertest") {
				t.Errorf("%s links %s", p, dep)
			}
		}
	}
}

// lockClients are the client libraries of the lock services, which only
// the service packages under targets/ (and targets/all, which lists them)
// may link.
var lockClients = []string{
	"github.com/redis/go-redis", "github.com/go-redsync/redsync", "go.etcd.io/etcd/client",
	"github.com/go-zookeeper/zk", "github.com/jackc/pgx", "github.com/go-sql-driver/mysql",
	"github.com/bradfitz/gomemcache", "github.com/nats-io/nats.go",
}

// deps lists the packages that p links.
func deps(t *testing.T, p string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "github.com/lockstorm/lockstorm/"+p).Output() // stdout: go list warns on stderr (a store/latest symlink in the tree)
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
	}
	return strings.Fields(string(out))
}

// The packages that run, judge and report a run depend on the contract of
// a lock service (targets), never on a service: re-judging a saved run, a
// workload or a nemesis links no lock client library. The contract links
// none either, nor the gRPC and logging libraries that the etcd client
// brings; and the client-process binding does not reach back into the
// harness.
func TestOnlyTheServicePackagesLinkLockClients(t *testing.T) {
	free := []string{"workloads", "nemesis", "protocol", "checker", "reports", "history", "campaign", "store",
		"harness", "targets", "targets/process", "plan", "option", "runtime"}
	for _, p := range free {
		for _, dep := range deps(t, p) {
			for _, lib := range lockClients {
				if strings.HasPrefix(dep, lib) {
					t.Errorf("%s links %s", p, dep)
				}
			}
		}
	}
	for _, dep := range deps(t, "targets") {
		if strings.HasPrefix(dep, "google.golang.org/grpc") || strings.HasPrefix(dep, "go.uber.org/zap") ||
			strings.HasPrefix(dep, "github.com/lockstorm/lockstorm/targets/") {
			t.Errorf("the contract package targets links %s", dep)
		}
	}
	for _, dep := range deps(t, "targets/process") {
		if dep == "github.com/lockstorm/lockstorm/harness" {
			t.Errorf("targets/process links the harness")
		}
	}
}
