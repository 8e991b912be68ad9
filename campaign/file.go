// Package campaign runs matrices of runs with expectations: the project's
// main job. A campaign file (YAML, docs/campaigns.md) lists cells, each a
// target × workload × nemesis with settings and an expectation: safe (no
// violation allowed), unsafe (a known failure the cell must reproduce) or
// explore (no expectation).
package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/internal/inputfile"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/workloads"

	"github.com/lockstorm/lockstorm/store"
)

// ErrBadFile is wrapped by every error about a campaign file's content
// (exit 3).
var ErrBadFile = errors.New("bad campaign file")

// Settings are the knobs of a run that a campaign, a matrix or a cell may
// set; unset fields inherit from the level above.
type Settings struct {
	TimeLimit       *Duration     `yaml:"time-limit"`
	Concurrency     *int          `yaml:"concurrency"`
	Rate            *float64      `yaml:"rate"`
	NemesisInterval *Duration     `yaml:"nemesis-interval"`
	Nodes           *int          `yaml:"nodes"`
	TTL             *Duration     `yaml:"ttl"`
	Wait            *Duration     `yaml:"wait"`
	Hold            *HoldDuration `yaml:"hold"`
	Keys            *int          `yaml:"keys"`
	// Client is who speaks to the service, as --client says: process (the
	// default for targets in containers), go, or a protocol client's
	// command (docs/protocol.md), run from the current directory.
	Client  *string           `yaml:"client"`
	Fencing *bool             `yaml:"fencing"`
	Repeats *int              `yaml:"repeats"`
	Seeds   []int64           `yaml:"seeds"`
	Options map[string]string `yaml:"options"`
	// Judge limits which checkers decide the cell's verdict, e.g.
	// [fencing] to ask "did the data stay safe?" rather than "did the
	// lock hold?". Empty means every checker.
	Judge []string `yaml:"judge"`
	// StopAfterViolation ends each run of a cell that expects unsafe that
	// long after its first violation (Plan.StopAfterViolation); safe and
	// explore cells run their whole time limit whatever it says.
	StopAfterViolation *Duration `yaml:"stop-after-violation"`
}

// CellSpec is one cell as written in the file.
type CellSpec struct {
	Settings `yaml:",inline"`
	Name     string            `yaml:"name"`
	Target   string            `yaml:"target"`
	Workload string            `yaml:"workload"`
	Variant  string            `yaml:"variant"`
	Nemesis  string            `yaml:"nemesis"`
	Expect   store.Expectation `yaml:"expect"`
	// Claim is the sentence the cell demonstrates, shown in reports.
	Claim string `yaml:"claim"`
	// Speedup asks of a sweep (the sweep variant of a workloads.Sweeper)
	// that each way named make at least that many times the lock's
	// throughput at 16 clients (checker.RatioClients, or the nearest
	// number measured below it), e.g. {atomic: 3}.
	Speedup map[string]float64 `yaml:"speedup"`
	// Matrix expands the cell into one cell per combination of the
	// values of some options, e.g. {redis.persistence: [none, aof]}.
	Matrix CellMatrix `yaml:"matrix"`
	// Margin asks the cell for a margin instead of runs judged one by
	// one (lockstorm margin), e.g. {vary: "client-pause.stall=200ms..3s",
	// seeds: 3}.
	Margin *MarginSpec `yaml:"margin"`
	line   int
}

// MatrixSpec expands into one cell per target × workload × nemesis.
type MatrixSpec struct {
	Settings  `yaml:",inline"`
	Targets   []string          `yaml:"targets"`
	Workloads []string          `yaml:"workloads"`
	Nemeses   []string          `yaml:"nemeses"`
	Expect    store.Expectation `yaml:"expect"`
	Claim     string            `yaml:"claim"`
	line      int
}

// File is a parsed campaign file.
type File struct {
	Name string `yaml:"name"`
	// Parallel is how many cells run at once (default 1: a 2-core machine
	// runs one cluster well, and parallel cells disturb each other's
	// timing).
	Parallel int          `yaml:"parallel"`
	Defaults Settings     `yaml:"defaults"`
	Cells    []CellSpec   `yaml:"cells"`
	Matrix   []MatrixSpec `yaml:"matrix"`
	// Hosts is an SSH inventory (docs/ssh.md) whose hosts run the
	// cells' nodes instead of Docker: as written, a path relative to the
	// campaign file; after Parse, the path to open.
	Hosts  string `yaml:"hosts"`
	source string
	// The lines of parallel: and defaults:, for errors.
	parallelLine, defaultsLine, hostsLine int
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses "10s", "1m30s" and friends.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 10s or 1m30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// HoldDuration is the hold: a Duration, or "auto" for the default that
// fits the target (harness.DefaultHold).
type HoldDuration time.Duration

// UnmarshalYAML parses "auto" or a duration that is not negative.
func (d *HoldDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "auto" {
		*d = HoldDuration(plan.HoldAuto)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not auto or a duration like 20ms or 5s", n.Line, n.Value)
	}
	*d = HoldDuration(v)
	return nil
}

// Parse reads a campaign file. name is used in error messages. Unknown
// fields, bad values and unknown targets, workloads or nemeses are errors
// that name the file, the line and the field.
func Parse(data []byte, name string) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: %d bytes; a campaign file may have at most %s", ErrBadFile, name, len(data), inputfile.Size(MaxFileSize))
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: the file is empty", ErrBadFile, name)
		}
		return nil, yamlError(name, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		line := more.Line
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, fmt.Errorf("%w: %s:%d: a second YAML document; a campaign file holds one", ErrBadFile, name, line)
	}
	// A second pass over the node tree finds the line of each cell, for
	// the errors of Validate.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) > 0 {
		recordLines(root.Content[0], &f)
		if err := checkIntegers(root.Content[0], name); err != nil {
			return nil, err
		}
	}
	f.source = name
	if f.Hosts != "" {
		p := f.Hosts
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s:%d: hosts: %s is not an inventory file (a path relative to the campaign file)", ErrBadFile, name, max(f.hostsLine, 1), f.Hosts)
		}
		f.Hosts = p
	}
	f.parallelLine, f.defaultsLine = max(f.parallelLine, 1), max(f.defaultsLine, 1)
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

var (
	lineMsg      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlError rewrites the decoder's errors as "file:line: message", one per
// problem, with unknown fields named as such.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for i, m := range msgs {
		m = strings.TrimSpace(m)
		if sub := lineMsg.FindStringSubmatch(m); sub != nil {
			msg := sub[2]
			if f := unknownField.FindStringSubmatch(msg); f != nil {
				msg = fmt.Sprintf("unknown field %q (see docs/campaigns.md)", f[1])
			}
			m = fmt.Sprintf("%s:%s: %s", name, sub[1], msg)
		} else {
			m = name + ": " + strings.TrimPrefix(m, "yaml: ")
		}
		msgs[i] = m
	}
	return fmt.Errorf("%w: %s", ErrBadFile, strings.Join(msgs, "; "))
}

func recordLines(doc *yaml.Node, f *File) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i], doc.Content[i+1]
		switch key.Value {
		case "parallel":
			f.parallelLine = key.Line
		case "defaults":
			f.defaultsLine = key.Line
		case "hosts":
			f.hostsLine = key.Line
		case "cells":
			for j, c := range val.Content {
				if j < len(f.Cells) {
					f.Cells[j].line = c.Line
				}
			}
		case "matrix":
			for j, c := range val.Content {
				if j < len(f.Matrix) {
					f.Matrix[j].line = c.Line
				}
			}
		}
	}
}

// Limits of a campaign file (docs/campaigns.md).
const (
	MaxParallel = 8
	MaxRepeats  = 100
	MaxSeeds    = 100
	MaxCells    = 1000
	MaxRuns     = 10000
)

// Validate checks every cell as a run would check it before it starts:
// names, ranges, options, variants, judges; and that cell names are
// unique. The first problem comes back as "file:line: ...".
func (f *File) Validate() error {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrBadFile, f.source, line, fmt.Sprintf(format, args...))
	}
	if f.Parallel < 0 || f.Parallel > MaxParallel {
		return bad(f.parallelLine, "parallel: %d must be 1..%d", f.Parallel, MaxParallel)
	}
	if len(f.Cells) == 0 && len(f.Matrix) == 0 {
		return bad(1, "no cells and no matrix: nothing to run")
	}
	if err := checkSettings(f.Defaults); err != nil {
		return bad(f.defaultsLine, "defaults: %v", err)
	}
	for _, m := range f.Matrix {
		if len(m.Targets) == 0 || len(m.Workloads) == 0 {
			return bad(m.line, "matrix: targets and workloads must not be empty")
		}
	}
	if err := f.checkLevels(); err != nil {
		return err
	}
	if err := f.checkCellMatrices(); err != nil {
		return err
	}
	// Count before expanding: a short matrix may stand for more cells
	// than memory holds.
	if n := f.cellCount(); n > MaxCells {
		return bad(1, "%d cells; a campaign may have at most %d (shard it into several files)", n, MaxCells)
	}
	cells := f.Expand()
	seen := map[string]int{}
	runs := 0
	for _, c := range cells {
		if prev, dup := seen[c.Name]; dup {
			return bad(c.Line, "cell name %q is used twice (first at line %d)", c.Name, prev)
		}
		seen[c.Name] = c.Line
		if err := f.checkMatrix(c); err != nil {
			return err
		}
		if err := checkCell(c); err != nil {
			return bad(c.Line, "cell %q: %v", c.Name, err)
		}
		if err := checkMargin(c); err != nil {
			return bad(c.Margin.line, "cell %q: margin: %v", c.Name, err)
		}
		if err := checkJudge(c); err != nil && c.judgeInDefaults {
			return bad(f.defaultsLine, "defaults: %v, in cell %q (line %d)", err, c.Name, c.Line)
		} else if err != nil {
			return bad(c.Line, "cell %q: %v", c.Name, err)
		}
		runs += len(c.Seeds)
	}
	if runs > MaxRuns {
		return bad(1, "%d runs in all; a campaign may have at most %d", runs, MaxRuns)
	}
	return f.checkRead(cells)
}

// checkSettings checks the settings that a level may set by themselves:
// the ones a run does not check because they shape the campaign.
func checkSettings(s Settings) error {
	switch {
	case s.Repeats != nil && (*s.Repeats < 1 || *s.Repeats > MaxRepeats):
		return fmt.Errorf("repeats: %d must be 1..%d", *s.Repeats, MaxRepeats)
	case len(s.Seeds) > MaxSeeds:
		return fmt.Errorf("seeds: %d seeds; at most %d", len(s.Seeds), MaxSeeds)
	case s.StopAfterViolation != nil && (*s.StopAfterViolation < 0 || time.Duration(*s.StopAfterViolation) > plan.MaxTimeLimit):
		return fmt.Errorf("stop-after-violation: %s must be 0 (off) or positive, at most %s", time.Duration(*s.StopAfterViolation), plan.MaxTimeLimit)
	case s.Nodes != nil && (*s.Nodes < 1 || *s.Nodes > plan.MaxNodes):
		return fmt.Errorf("nodes: %d must be 1..%d", *s.Nodes, plan.MaxNodes)
	}
	for i, seed := range s.Seeds {
		if seed < 1 || seed > plan.MaxSeed {
			return fmt.Errorf("seeds: %d must be 1..%d", seed, int64(plan.MaxSeed))
		}
		if slices.Contains(s.Seeds[:i], seed) {
			return fmt.Errorf("seeds: %d is listed twice; a seed runs once", seed)
		}
	}
	return nil
}

// checkCell checks one expanded cell: its expectation, its settings, and
// its plan, resolved as a run would resolve it (Validate checks its
// judges, at the line where they were set).
func checkCell(c Cell) error {
	switch c.Expect {
	case store.ExpectSafe, store.ExpectUnsafe, store.ExpectExplore:
	default:
		return fmt.Errorf("expect: %q is not one of safe, unsafe, explore", c.Expect)
	}
	if err := checkSettings(c.settings); err != nil {
		return err
	}
	if err := checkSpeedup(c); err != nil {
		return err
	}
	p := c.Plan
	if len(c.Seeds) > 0 {
		p.Seed = c.Seeds[0]
	}
	if _, err := harness.Resolve(p); err != nil {
		var fe *plan.FieldError
		if errors.As(err, &fe) && fe.Field == "opt" {
			return fmt.Errorf("options: %s", fe.Msg) // the key's name in a campaign file
		}
		return errors.New(harness.Reason(err))
	}
	return nil
}

// checkSpeedup checks a cell's speedup: only a sweep measures the ways
// against each other, and the sweep's workload checks what is asked
// (workloads.Sweeper).
func checkSpeedup(c Cell) error {
	if len(c.Speedup) == 0 {
		return nil
	}
	if err := workloads.CheckSpeedup(c.Workload, c.Plan.Variant, c.Speedup); err != nil {
		return fmt.Errorf("speedup: %w", err)
	}
	return nil
}

// checkJudge refuses a judge that names a checker the cell's runs do not
// run: a cell judged by nothing would pass as safe.
func checkJudge(c Cell) error {
	w, err := workloads.Lookup(c.Workload)
	if err != nil {
		return nil // the unknown workload is reported on its own
	}
	if err := workloads.CheckJudge(w, c.Judge); err != nil {
		return fmt.Errorf("judge: %w", err)
	}
	return nil
}

func orNone(ns []string) []string {
	if len(ns) == 0 {
		return []string{"none"}
	}
	return ns
}
