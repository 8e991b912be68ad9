// Package layers holds a test of the import rules of docs/architecture.md.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

// The packages that judge, report and describe a run never link Docker:
// only runtime/docker and the command that wires it in do, so that a
// second runtime is a new package and the checkers run anywhere.
func TestOnlyTheDockerRuntimeLinksDocker(t *testing.T) {
	free := []string{"checker", "reports", "history", "store", "campaign", "workloads", "targets",
		"nemesis", "harness", "plan", "option", "runtime"}
	for _, p := range free {
		out, err := exec.Command("go", "list", "-deps", "github.com/lockstorm/lockstorm/"+p).CombinedOutput()
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
