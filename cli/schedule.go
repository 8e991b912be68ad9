package cli

import (
	"github.com/lockstorm/lockstorm/internal/inputfile"
	"github.com/lockstorm/lockstorm/plan"
)

// maxScheduleFile bounds a schedule file: a bare schedule, or a run's
// results.json to take the schedule from.
const maxScheduleFile = 64 << 20

// readSchedule reads the schedule file of --schedule (plan.ParseSchedule):
// a bad file is a usage error that names it and says where.
func readSchedule(path string) (plan.Schedule, error) {
	data, err := inputfile.ReadFile(path, maxScheduleFile)
	if err != nil {
		return plan.Schedule{}, usageErr("--schedule: %v", err)
	}
	s, err := plan.ParseSchedule(data)
	if err != nil {
		return plan.Schedule{}, usageErr("--schedule %s: %v", path, err)
	}
	return s, nil
}
