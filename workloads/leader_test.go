package workloads

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets/inmemory"
)

func leaderConfig() plan.Plan {
	return plan.Plan{Options: option.Values{"leader-election.term": "100ms", "leader-election.pace": "5ms"}}
}

func TestLeaderElectionOneLeaderUnderACorrectLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, LeaderElection{}, inmemory.New(), oneNode, leaderConfig(), time.Second)
	r := result(t, rep, "leader-election")
	var d checker.LeaderDetails
	details(t, r, &d)
	if rep.Status != checker.Valid || r.Status != checker.Valid {
		t.Fatalf("report %s, leader-election %s: %s", rep.Status, r.Status, r.Summary)
	}
	if d.Terms < 2 || d.Leaders < 2 {
		t.Errorf("details %+v: leadership should change hands between terms", d)
	}
}

func TestLeaderElectionTwoLeadersUnderABrokenLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, LeaderElection{}, inmemory.New(), threeNodes, leaderConfig(), time.Second)
	r := result(t, rep, "leader-election")
	var d checker.LeaderDetails
	details(t, r, &d)
	if r.Status != checker.Invalid || d.OverlappingTerms == 0 {
		t.Fatalf("leader-election %s (%s), want overlapping terms", r.Status, r.Summary)
	}
	if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
		t.Errorf("two leaders acted at once, yet mutual exclusion is %s", me.Status)
	}
}

func TestLeaderTermDefaultsBelowTheLease(t *testing.T) {
	if got := leaderTerm(&plan.Plan{Lease: 2 * time.Second}); got != 1500*time.Millisecond {
		t.Errorf("term with a 2s lease = %s, want 1.5s", got)
	}
	if got := leaderTerm(&plan.Plan{}); got != DefaultTerm {
		t.Errorf("term without a lease = %s, want %s", got, DefaultTerm)
	}
}
