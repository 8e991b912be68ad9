package reports

import (
	"fmt"
	"slices"
	"strings"
)

// maxChainsShown bounds the chains of replaced processes the timeline's
// legend names.
const maxChainsShown = 12

// replacedNote says why the timeline's process numbers jump: a worker
// retires its process after an operation whose outcome is unknown, or
// after the process crashed holding a lock, and its client slot carries on
// as a new process numbered the old one plus stride (the plan's
// concurrency; workloads/driver.go, worker.retire). It names the chains
// of replacements ("p2 → p7 → p12"), or, for the contention workload,
// whose stride is the largest client count of its sweep, only the rule.
// It is "" when no process was replaced.
func replacedNote(processes []int, stride int, workload string) string {
	if stride < 1 || len(processes) == 0 || slices.Max(processes) < stride {
		return ""
	}
	s := "Process numbers jump because a process whose operation got an unknown outcome (it timed out or lost its connection, so it may have taken effect), or that crashed while it held a lock, is retired, as in Jepsen: its client slot carries on as a fresh process"
	if workload == "contention" {
		return s + ", numbered the old one plus the largest client count of the sweep."
	}
	s += fmt.Sprintf(", numbered the old one plus the number of clients (%d).", stride)
	has := map[int]bool{}
	for _, p := range processes {
		has[p] = true
	}
	var chains []string
	more := 0
	for slot := 0; slot < stride; slot++ {
		var chain []string
		for p := slot; p <= slices.Max(processes); p += stride {
			if has[p] {
				chain = append(chain, fmt.Sprintf("p%d", p))
			}
		}
		if len(chain) < 2 {
			continue
		}
		if len(chains) == maxChainsShown {
			more++
			continue
		}
		chains = append(chains, strings.Join(chain, " → "))
	}
	if len(chains) > 0 {
		s += " Replaced here: " + strings.Join(chains, "; ")
		if more > 0 {
			s += fmt.Sprintf("; and %d more slots", more)
		}
		s += "."
	}
	return s
}
