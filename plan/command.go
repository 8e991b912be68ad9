package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/option"
)

// Command returns the lockstorm command line that runs the plan again: the
// same seed, and so the same fault schedule (or the same --schedule file
// when the schedule was given), with every setting that
// shaped the run spelt out. A hold sized automatically is written as the
// figure it resolved to, so that the command does not depend on what the
// servers grant next time.
func (p *Plan) Command() string {
	nem := strings.Join(p.Nemeses, ",")
	if nem == "" {
		nem = "none"
	}
	parts := []string{"lockstorm run", "--target " + p.Target}
	if p.Client != "" && p.Client != ClientProcess {
		parts = append(parts, "--client "+shellQuote(p.Client))
	}
	parts = append(parts, "--workload "+p.Workload)
	if p.Variant != "" {
		parts = append(parts, "--variant "+shellQuote(p.Variant))
	}
	parts = append(parts,
		"--nemesis "+nem,
		"--time-limit "+option.FormatDuration(p.TimeLimit),
		fmt.Sprintf("--concurrency %d", p.Concurrency),
		fmt.Sprintf("--rate %g", p.Rate),
	)
	if len(p.Nemeses) > 0 {
		parts = append(parts, "--nemesis-interval "+option.FormatDuration(p.NemesisInterval))
	}
	parts = append(parts,
		fmt.Sprintf("--nodes %d", len(p.Nodes)),
		"--ttl "+option.FormatDuration(p.TTL),
		"--wait "+option.FormatDuration(p.Wait),
		"--hold "+formatHold(p.Hold),
		fmt.Sprintf("--keys %d", p.Keys),
	)
	if p.Fencing {
		parts = append(parts, "--fencing")
	}
	if p.StopAfterViolation > 0 {
		parts = append(parts, "--stop-after-violation "+option.FormatDuration(p.StopAfterViolation))
	}
	if len(p.Judge) > 0 {
		parts = append(parts, "--judge "+shellQuote(strings.Join(p.Judge, ",")))
	}
	keys := make([]string, 0, len(p.Options))
	for k := range p.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, "--opt "+shellQuote(k+"="+p.Options[k]))
	}
	if p.ScheduleFile != "" {
		parts = append(parts, "--schedule "+shellQuote(p.ScheduleFile))
	}
	parts = append(parts, fmt.Sprintf("--seed %d", p.Seed))
	return strings.Join(parts, " ")
}

// formatHold is FormatDuration, or "auto" for a hold not yet resolved.
func formatHold(d time.Duration) string {
	if d == HoldAuto {
		return "auto"
	}
	return option.FormatDuration(d)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.=/:,+", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
