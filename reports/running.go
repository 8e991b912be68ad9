package reports

import (
	"os"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// A run that is still going has a results.json all the same: the first
// one, which the harness writes when the run starts, says "unknown" and
// "the run did not finish", with no ops. The server asks the store
// whether the run is running (store.RunningIn: its harness holds the lock
// on run.log) and, if so, shows it as running, for as long as it has
// been going since the results' start time, rather than as unknown.

// runningWord and runningClass are the verdict column's word and class of
// a run that is still running.
const (
	runningWord  = "Running"
	runningClass = "running"
)

// runningFor says how long a run that started at started has been going at
// now; a run with no start time is just "still running".
func runningFor(started, now time.Time) string {
	if started.IsZero() || now.Before(started) {
		return "still running"
	}
	return "still running, for " + now.Sub(started).Round(time.Second).String() + " so far"
}

// runEntryFor is the store index's row of the run cell/id, whose
// results.json is res, at now.
func runEntryFor(root *os.Root, cell, id string, res store.RunResult, now time.Time) runEntry {
	e := runEntry{Cell: cell, ID: id, Class: statusClass(res.Status), Word: statusWord(res.Status),
		Summary: res.Summary, Ops: res.Ops, started: res.Started, Started: stamp(res.Started),
		Href: escapeSeg(cell) + "/" + escapeSeg(id) + "/"}
	e.CampaignCell, e.Campaign = campaignOf(res)
	switch {
	case store.RunningIn(root, cell+"/"+id):
		e.Class, e.Word, e.Running = runningClass, runningWord, true
		e.Summary = runningFor(res.Started, now)
	case e.Summary == "":
		// A run killed before it finished: its first results.json says why.
		e.Summary = res.Error
	}
	return e
}

// runningNote is the banner of a run directory's page while the run is
// still running ("" when it is not): how long it has been going, and that
// its report appears when it ends.
func (s *server) runningNote(name string) string {
	if !isReportDir(name) {
		return ""
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return ""
	}
	defer root.Close()
	if !store.RunningIn(root, name) {
		return ""
	}
	var res store.RunResult
	_ = readJSON(root, name+"/"+store.ResultsFile, &res)
	note := "This run is " + runningFor(res.Started, s.clock())
	if !res.Started.IsZero() {
		note += " (it started at " + stamp(res.Started) + " UTC)"
	}
	return note + ". Its report appears here when it ends; until then its history and log below grow as it goes."
}

// clock returns the server's time now.
func (s *server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}
