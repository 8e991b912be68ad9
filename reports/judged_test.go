package reports

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// judgedByFencing is the overlap run judged by fencing, as the harness
// records it: valid by fencing, invalid over all checkers.
func judgedByFencing() (res store.RunResult) {
	res = runResult("lock-a", true)
	res.Plan.Judge = []string{checker.NameFencing}
	res.Status, res.AllCheckers, res.FirstViolation = checker.Valid, checker.Invalid, -1
	res.Summary = "No anomaly in 24 operations: fencing found the history valid. Over all checkers the run is INVALID: 1 incident found."
	res.Command += " --fencing --judge fencing"
	return res
}

func TestRunPageJudgedByFencingSaysTheDataStayedSafeAndShowsTheOverlap(t *testing.T) {
	page := renderRun(t, judgedByFencing(), overlapHistory("lock-a", true))
	for _, want := range []string{
		`data-status="valid"`,
		`<div class="verdict">Valid by fencing</div>`,
		`id="judged"`,
		"The data stayed safe: fencing refused every stale write (1).",
		`Over all checkers the run is <span class="pill invalid">Invalid</span>`,
		`<span class="mono">mutual-exclusion</span> found the history invalid, which does not decide here; the incidents below show where`,
		`id="incident-1"`,
		"--judge fencing",
		"judged by",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(page, `<div class="verdict">Invalid`) {
		t.Error("the banner of a run valid by its judge says Invalid")
	}
}

func TestRunPageWithoutAJudgeHasNoJudgedLine(t *testing.T) {
	page := renderRun(t, runResult("lock-a", true), overlapHistory("lock-a", true))
	if strings.Contains(page, `id="judged"`) || strings.Contains(page, `<div class="verdict">Invalid by`) {
		t.Error("a run judged by every checker has a judged line")
	}
}
