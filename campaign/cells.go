package campaign

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/margin"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// DefaultTimeLimit is the time limit of a campaign cell that sets none.
const DefaultTimeLimit = 30 * time.Second

// A Cell is one fully resolved cell of a campaign: what to run, how often,
// with which seeds, and what to expect.
type Cell struct {
	Name     string
	Target   string
	Workload string
	Nemeses  []string
	Expect   store.Expectation
	Claim    string
	Seeds    []int64
	Judge    []string
	// Speedup is what the cell asks of a sweep (CellSpec).
	Speedup map[string]float64
	// Margin, when set, makes the cell a margin's search over one option
	// of its nemesis instead of runs of its seeds (CellSpec).
	Margin *MarginSpec
	// MatrixOf is, for a cell expanded from a cell's matrix, the cell as
	// written and the values this one runs with; nil otherwise.
	MatrixOf *store.MatrixOf
	// Plan is what each run of the cell is asked to do; its seed is set
	// per repeat.
	Plan plan.Plan
	Line int
	// Index is the cell's position in the whole campaign.
	Index int
	// settings are the cell's settings merged from all levels.
	settings Settings
	// matrix is i+1 for a cell of the i-th matrix entry, 0 for a cell of
	// cells; judgeInDefaults says that its judge came from the defaults
	// (File.inherit).
	matrix          int
	judgeInDefaults bool
	// matrixLines are the lines of MatrixOf's options and values.
	matrixLines []matrixLine
}

// NemesisName returns the cell's nemeses joined by "+", or "none".
func (c Cell) NemesisName() string {
	if len(c.Nemeses) == 0 {
		return "none"
	}
	return strings.Join(c.Nemeses, "+")
}

// Expand resolves the file into cells, in file order: first the cells (a
// cell with a matrix as one cell per combination of its values, in
// CellMatrix.points order), then each matrix in target, workload, nemesis
// order. Settings inherit from the
// defaults, then the matrix, then the cell; an inherited option reaches
// only the cells that read it (File.inherit).
func (f *File) Expand() []Cell {
	var out []Cell
	for _, c := range f.Cells {
		for _, pt := range c.Matrix.points() {
			own := c.Settings
			if len(pt.values) > 0 {
				own.Options = withValues(c.Options, pt)
			}
			s := merge(f.Defaults, own)
			cell := f.cell(c.Name, c.Target, c.Workload, c.Nemesis, c.Expect, c.Claim, s, c.line)
			cell.Speedup, cell.Margin = c.Speedup, c.Margin
			if c.Margin != nil && s.Hold == nil {
				cell.Plan.Hold = margin.DefaultHold // as lockstorm margin
			}
			if c.Variant != "" {
				cell.Plan.Variant = c.Variant
				if c.Name == "" {
					cell.Name = store.CellName(cell.Target, cell.Plan.WorkloadLabel(), cell.Nemeses)
				}
			}
			if len(pt.values) > 0 {
				cell.MatrixOf = &store.MatrixOf{Cell: cell.Name, Values: pt.values}
				cell.Name = matrixName(cell.Name, pt.values)
				cell.matrixLines = pt.lines
			}
			f.inherit(&cell, own, 0)
			out = append(out, cell)
		}
	}
	for i, m := range f.Matrix {
		s := merge(f.Defaults, m.Settings)
		for _, t := range m.Targets {
			for _, w := range m.Workloads {
				for _, n := range orNone(m.Nemeses) {
					cell := f.cell("", t, w, n, m.Expect, m.Claim, s, m.line)
					f.inherit(&cell, m.Settings, i+1)
					out = append(out, cell)
				}
			}
		}
	}
	for i := range out {
		out[i].Index = i
	}
	return out
}

func (f *File) cell(name, target, workload, nem string, expect store.Expectation, claim string, s Settings, line int) Cell {
	p := plan.Default()
	if workload == "" {
		workload = p.Workload
	}
	if expect == "" {
		expect = store.ExpectExplore
	}
	nemeses := nemesis.Split(nem)
	if nemeses == nil {
		nemeses = []string{}
	}
	if name == "" {
		name = store.CellName(target, workload, nemeses)
	}
	p.Target, p.Workload, p.Nemeses = target, workload, nemeses
	p.TimeLimit = DefaultTimeLimit
	apply(&p, s)
	if expect == store.ExpectUnsafe && s.StopAfterViolation != nil {
		// Only a cell that expects a violation has a claim to stop on.
		p.StopAfterViolation = time.Duration(*s.StopAfterViolation)
	}
	repeats := 1
	if s.Repeats != nil {
		repeats = *s.Repeats
	}
	return Cell{
		Name: name, Target: target, Workload: workload, Nemeses: nemeses,
		Expect: expect, Claim: claim, Seeds: cellSeeds(s.Seeds, repeats),
		Judge: s.Judge, Plan: p, Line: line, settings: s,
	}
}

// cellSeeds is the seeds a cell runs: every listed seed, and then, up to
// repeats runs, the smallest seeds from 1 that are not listed (a seed runs
// once).
func cellSeeds(listed []int64, repeats int) []int64 {
	seeds := append([]int64(nil), listed...)
	for next := int64(1); len(seeds) < repeats; next++ {
		if !slices.Contains(listed, next) {
			seeds = append(seeds, next)
		}
	}
	return seeds
}

// merge returns base with every field that over sets replaced.
func merge(base, over Settings) Settings {
	out := base
	if over.TimeLimit != nil {
		out.TimeLimit = over.TimeLimit
	}
	if over.Concurrency != nil {
		out.Concurrency = over.Concurrency
	}
	if over.Rate != nil {
		out.Rate = over.Rate
	}
	if over.NemesisInterval != nil {
		out.NemesisInterval = over.NemesisInterval
	}
	if over.Nodes != nil {
		out.Nodes = over.Nodes
	}
	if over.TTL != nil {
		out.TTL = over.TTL
	}
	if over.Wait != nil {
		out.Wait = over.Wait
	}
	if over.Hold != nil {
		out.Hold = over.Hold
	}
	if over.Keys != nil {
		out.Keys = over.Keys
	}
	if over.Client != nil {
		out.Client = over.Client
	}
	if over.Fencing != nil {
		out.Fencing = over.Fencing
	}
	if over.Repeats != nil {
		out.Repeats = over.Repeats
	}
	if over.Seeds != nil {
		out.Seeds = over.Seeds
	}
	if over.Judge != nil {
		out.Judge = over.Judge
	}
	if over.StopAfterViolation != nil {
		out.StopAfterViolation = over.StopAfterViolation
	}
	if len(over.Options) > 0 {
		opts := map[string]string{}
		for k, v := range base.Options {
			opts[k] = v
		}
		for k, v := range over.Options {
			opts[k] = v
		}
		out.Options = opts
	}
	return out
}

// apply writes the settings that are set into r.
func apply(r *plan.Plan, s Settings) {
	if s.TimeLimit != nil {
		r.TimeLimit = time.Duration(*s.TimeLimit)
	}
	if s.Concurrency != nil {
		r.Concurrency = *s.Concurrency
	}
	if s.Rate != nil {
		r.Rate = *s.Rate
	}
	if s.NemesisInterval != nil {
		r.NemesisInterval = time.Duration(*s.NemesisInterval)
	}
	if s.Nodes != nil {
		r.Nodes = nil
		for i := 1; i <= *s.Nodes; i++ {
			r.Nodes = append(r.Nodes, plan.Node{Name: runtime.NodeName(i)})
		}
	}
	if s.TTL != nil {
		r.TTL = time.Duration(*s.TTL)
	}
	if s.Wait != nil {
		r.Wait = time.Duration(*s.Wait)
	}
	if s.Hold != nil {
		r.Hold = time.Duration(*s.Hold)
	}
	if s.Keys != nil {
		r.Keys = *s.Keys
	}
	if s.Client != nil {
		r.Client = *s.Client
	}
	if s.Fencing != nil {
		r.Fencing = *s.Fencing
	}
	r.Options = option.Values{}
	for k, v := range s.Options {
		r.Options[k] = v
	}
}

// Shard returns the cells of shard i of n (1-based): every n-th cell,
// starting at the i-th. Each cell lands in exactly one shard, and the same
// file always gives the same slices.
func Shard(cells []Cell, i, n int) ([]Cell, error) {
	if n < 1 || i < 1 || i > n {
		return nil, fmt.Errorf("shard %d/%d: want 1 <= i <= n", i, n)
	}
	var out []Cell
	for k, c := range cells {
		if k%n == i-1 {
			out = append(out, c)
		}
	}
	return out, nil
}

// Select returns the cells whose names match one of the comma-separated
// shell patterns (path.Match: * ? [...]), in the file's order. A pattern
// that is malformed or matches no cell is an error that lists the names.
func Select(cells []Cell, patterns string) ([]Cell, error) {
	var pats []string
	for p := range strings.SplitSeq(patterns, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pats = append(pats, p)
		}
	}
	if len(pats) == 0 {
		return nil, fmt.Errorf("--cells %q: no pattern", patterns)
	}
	keep := make([]bool, len(cells))
	for _, p := range pats {
		hit := false
		for k, c := range cells {
			ok, err := path.Match(p, c.Name)
			if err != nil {
				return nil, fmt.Errorf("--cells: pattern %q: %v", p, err)
			}
			if ok {
				keep[k], hit = true, true
			}
		}
		if !hit {
			var names []string
			for _, c := range cells {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("--cells: %q matches no cell; the cells are: %s", p, strings.Join(names, ", "))
		}
	}
	var out []Cell
	for k, c := range cells {
		if keep[k] {
			out = append(out, c)
		}
	}
	return out, nil
}

// MaxShards bounds n in a shard i/n: more shards than a campaign has cells
// at most (MaxCells) would leave some empty.
const MaxShards = MaxCells

// shardForm is "i/n" in decimal with no sign, space or leading zero.
var shardForm = regexp.MustCompile(`^([1-9][0-9]{0,3})/([1-9][0-9]{0,3})$`)

// ParseShard parses "i/n", exactly: two decimal numbers with 1 <= i <= n
// <= MaxShards and nothing around them.
func ParseShard(s string) (i, n int, err error) {
	m := shardForm.FindStringSubmatch(s)
	if m != nil {
		i, _ = strconv.Atoi(m[1])
		n, _ = strconv.Atoi(m[2])
	}
	if m == nil || i > n || n > MaxShards {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 1 <= i <= n <= %d, e.g. 1/2", s, MaxShards)
	}
	return i, n, nil
}

// CheckClients refuses, with the file and the line of the cell, a cell
// whose protocol client (client: a command) is missing on this machine or
// is not executable (harness.CheckClient). It is checked when the cells
// are about to run, not when the file is parsed: a client's files are
// found from the directory the campaign runs in.
func (f *File) CheckClients(cells []Cell) error {
	for _, c := range cells {
		if err := harness.CheckClient(c.Plan); err != nil {
			return f.bad(c.Line, "cell %q: %s", c.Name, harness.Reason(err))
		}
	}
	return nil
}
