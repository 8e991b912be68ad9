package checker

import (
	"fmt"
	"slices"
	"strings"
)

// The names of the checkers, as they appear in results, campaign files'
// judge: lists, reports and JUnit.
const (
	NameMutualExclusion = "mutual-exclusion"
	NameLinearizability = "linearizability"
	NameFencing         = "fencing"
	NameLiveness        = "liveness"
	NameInventory       = "inventory"
	NamePayment         = "payment"
	NameScheduledJobs   = "scheduled-jobs"
	NameLeaderElection  = "leader-election"
	// NameStats only counts; it never decides a verdict, so it is not in
	// Names.
	NameStats = "stats"
)

// LockNames lists the lock checkers, which judge every run, in the order
// Check runs them.
var LockNames = []string{NameMutualExclusion, NameLinearizability, NameFencing, NameLiveness}

// Names lists every checker that gives a verdict: the lock checkers, then
// the workload checkers. A campaign cell's judge: list names some of them.
var Names = append(slices.Clone(LockNames), NameInventory, NamePayment, NameScheduledJobs, NameLeaderElection)

// ValidateJudge checks that every name in a judge: list names a checker
// that gives a verdict.
func ValidateJudge(names []string) error {
	for _, n := range names {
		if !slices.Contains(Names, n) {
			valid := slices.Clone(Names)
			slices.Sort(valid)
			return fmt.Errorf("unknown checker %q (valid: %s)", n, strings.Join(valid, ", "))
		}
	}
	return nil
}
