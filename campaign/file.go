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
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// ErrBadFile is wrapped by every error about a campaign file's content
// (exit 3).
var ErrBadFile = errors.New("bad campaign file")

// Settings are the knobs of a run that a campaign, a matrix or a cell may
// set; unset fields inherit from the level above.
type Settings struct {
	TimeLimit       *Duration         `yaml:"time-limit"`
	Concurrency     *int              `yaml:"concurrency"`
	Rate            *float64          `yaml:"rate"`
	NemesisInterval *Duration         `yaml:"nemesis-interval"`
	Nodes           *int              `yaml:"nodes"`
	TTL             *Duration         `yaml:"ttl"`
	Wait            *Duration         `yaml:"wait"`
	Hold            *HoldDuration     `yaml:"hold"`
	Keys            *int              `yaml:"keys"`
	Fencing         *bool             `yaml:"fencing"`
	Repeats         *int              `yaml:"repeats"`
	Seeds           []int64           `yaml:"seeds"`
	Options         map[string]string `yaml:"options"`
	// Judge limits which checkers decide the cell's verdict, e.g.
	// [fencing] to ask "did the data stay safe?" rather than "did the
	// lock hold?". Empty means every checker.
	Judge []string `yaml:"judge"`
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
	line  int
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
	source   string
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
		*d = HoldDuration(harness.HoldAuto)
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
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	// A second pass over the node tree finds the line of each cell, for
	// the errors of Validate.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) > 0 {
		recordLines(root.Content[0], &f)
	}
	f.source = name
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

// Validate checks names and values, and that cell names are unique.
func (f *File) Validate() error {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrBadFile, f.source, line, fmt.Sprintf(format, args...))
	}
	if f.Parallel < 0 || f.Parallel > 8 {
		return bad(1, "parallel: %d must be 1..8", f.Parallel)
	}
	if len(f.Cells) == 0 && len(f.Matrix) == 0 {
		return bad(1, "no cells and no matrix: nothing to run")
	}
	for _, c := range f.Cells {
		if err := checkCell(c.Target, c.Workload, c.Nemesis, c.Expect, c.Settings); err != nil {
			return bad(c.line, "cell %q: %v", c.Name, err)
		}
	}
	for _, m := range f.Matrix {
		if len(m.Targets) == 0 || len(m.Workloads) == 0 {
			return bad(m.line, "matrix: targets and workloads must not be empty")
		}
		for _, t := range m.Targets {
			for _, w := range m.Workloads {
				for _, n := range orNone(m.Nemeses) {
					if err := checkCell(t, w, n, m.Expect, m.Settings); err != nil {
						return bad(m.line, "matrix: %v", err)
					}
				}
			}
		}
	}
	seen := map[string]int{}
	for _, c := range f.Expand() {
		if prev, dup := seen[c.Name]; dup {
			return bad(c.Line, "cell name %q is used twice (first at line %d)", c.Name, prev)
		}
		seen[c.Name] = c.Line
		if err := harness.CheckOptions(c.Config.Run.Options); err != nil {
			return bad(c.Line, "cell %q: options: %v", c.Name, err)
		}
	}
	return nil
}

func checkCell(target, workload, nem string, expect store.Expectation, s Settings) error {
	if target == "" {
		return fmt.Errorf("target: missing (valid: %s)", strings.Join(targets.Names(), ", "))
	}
	if _, err := targets.Lookup(target); err != nil {
		return fmt.Errorf("target: %v", err)
	}
	if workload != "" {
		if _, err := workloads.Lookup(workload); err != nil {
			return fmt.Errorf("workload: %v", err)
		}
	}
	if _, err := nemesis.Parse(strings.ReplaceAll(nem, "+", ",")); err != nil {
		return fmt.Errorf("nemesis: %v", err)
	}
	switch expect {
	case "", store.ExpectSafe, store.ExpectUnsafe, store.ExpectExplore:
	default:
		return fmt.Errorf("expect: %q is not one of safe, unsafe, explore", expect)
	}
	if s.Repeats != nil && (*s.Repeats < 1 || *s.Repeats > 100) {
		return fmt.Errorf("repeats: %d must be 1..100", *s.Repeats)
	}
	if err := checker.ValidateJudge(s.Judge); err != nil {
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
