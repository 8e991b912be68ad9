package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// The terminal lists the checkers' verdicts and then stats, which only
// counts, as measured rather than valid; results.json keeps its status.
func TestVerdictShowsStatsAsMeasuredNotValid(t *testing.T) {
	res := store.RunResult{Status: checker.Valid, Summary: "Mutual exclusion held.", Command: "lockstorm run --target redis",
		Results: []checker.Result{
			{Checker: checker.NameStats, Status: checker.Valid, Summary: "24 ops."},
			{Checker: "mutual-exclusion", Status: checker.Valid, Summary: "No two holds overlapped."},
		}}
	var out bytes.Buffer
	printVerdict(&out, res, "store/x")
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "mutual-exclusion") || !strings.Contains(lines[2], "stats") {
		t.Fatalf("checkers are not listed before stats:\n%s", out.String())
	}
	if strings.Contains(lines[2], "valid") || !strings.Contains(lines[2], "measured") {
		t.Errorf("stats reads as a verdict: %q", lines[2])
	}
	if res.Results[0].Status != checker.Valid {
		t.Errorf("printing changed the stats result's status to %q", res.Results[0].Status)
	}
}
