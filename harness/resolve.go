package harness

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/process"
	"github.com/lockstorm/lockstorm/workloads"
)

// A Resolved run is a plan with every default filled in and its fault
// schedule drawn, the parts it names, and the notes a reader of its report
// must know. Resolving starts nothing, so every bad setting is found
// before the first container.
type Resolved struct {
	Plan     plan.Plan
	Service  targets.Service
	Workload workloads.Workload
	// Nemeses are the nemeses that apply to the service; the schedule
	// draws from them.
	Nemeses []nemesis.Nemesis
	Notes   []store.Note
}

// Reason returns what is wrong in an error of Resolve, without the
// "bad run configuration" that every such error starts with.
func Reason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrBadConfig.Error()+": ")
}

// Owners lists every registered target, workload and nemesis with the
// options it declares.
func Owners() []option.Owner {
	var out []option.Owner
	for _, t := range targets.All() {
		out = append(out, option.Owner{Kind: "target", Name: t.Name(), Specs: t.Describe().Options})
	}
	for _, w := range workloads.All() {
		out = append(out, option.Owner{Kind: "workload", Name: w.Name(), Specs: w.Options()})
	}
	for _, n := range nemesis.All() {
		d := n.Describe()
		out = append(out, option.Owner{Kind: "nemesis", Name: d.Name, Specs: d.Options})
	}
	return out
}

// Resolve checks p and fills in everything it leaves to the defaults: the
// client, the nodes, the lease asked for and the one the service expects
// to grant, the wait, the op timeout, the check budget, the seed, the
// hold, and the schedule. Every error wraps ErrBadConfig; one about a
// setting out of range carries a *plan.FieldError that names it.
func Resolve(p plan.Plan) (*Resolved, error) {
	bad := func(err error) (*Resolved, error) { return nil, fmt.Errorf("%w: %w", ErrBadConfig, err) }
	if err := p.Validate(); err != nil {
		return bad(err)
	}
	r := &Resolved{}
	var err error
	if r.Service, err = targets.Lookup(p.Target); err != nil {
		return bad(&plan.FieldError{Field: "target", Msg: err.Error()})
	}
	if r.Workload, err = workloads.Lookup(p.Workload); err != nil {
		return bad(&plan.FieldError{Field: "workload", Msg: err.Error()})
	}
	if err := workloads.CheckVariant(r.Workload, p.Variant); err != nil {
		return bad(&plan.FieldError{Field: "variant", Msg: err.Error()})
	}
	if err := workloads.CheckJudge(r.Workload, p.Judge); err != nil {
		return bad(&plan.FieldError{Field: "judge", Msg: err.Error()})
	}
	named, err := nemesis.Parse(p.Nemeses)
	if err != nil {
		return bad(&plan.FieldError{Field: "nemesis", Msg: err.Error()})
	}
	if len(named) > 0 && p.ScheduleFile == "" {
		// A run whose schedule may hold no fault would pass for evidence
		// of safety under a nemesis that never struck.
		if err := schedule.CheckRoom(p.TimeLimit, p.NemesisInterval); err != nil {
			return bad(err)
		}
	}
	p.Options = copyValues(p.Options)
	if err := option.Check(Owners(), p.Options); err != nil {
		return bad(&plan.FieldError{Field: "opt", Msg: err.Error()})
	}
	if strays := UnreadOptions(p); len(strays) > 0 {
		s := strays[0]
		return bad(&plan.FieldError{Field: "opt", Msg: fmt.Sprintf("%s: an option of %s, which the run does not use", s.Name, s.Belongs())})
	}
	switch {
	case p.Client == "" && targets.IsLocal(r.Service):
		p.Client = plan.ClientGo
	case p.Client == "":
		p.Client = plan.ClientProcess
	case p.Client != plan.ClientGo && targets.IsLocal(r.Service):
		return bad(&plan.FieldError{Field: "client", Msg: fmt.Sprintf("%q: target %s runs its servers inside the harness, so only its Go clients (go) reach them", p.Client, p.Target)})
	case p.Client != plan.ClientGo && p.Client != plan.ClientProcess:
		if _, err := process.SplitWords(p.Client); err != nil {
			return bad(&plan.FieldError{Field: "client", Msg: err.Error()})
		}
	}
	if len(p.Nodes) == 0 {
		for i := 1; i <= r.Service.Describe().DefaultNodes; i++ {
			p.Nodes = append(p.Nodes, plan.Node{Name: runtime.NodeName(i)})
		}
	}
	p.Nemeses = nil
	for _, n := range named {
		p.Nemeses = append(p.Nemeses, n.Describe().Name)
	}
	if p.TTL == 0 {
		p.TTL = plan.DefaultTTL
	}
	if p.Wait == 0 {
		p.Wait = max(p.TTL, time.Second)
	}
	if p.OpTimeout == 0 {
		p.OpTimeout = p.Wait + 5*time.Second
	}
	if p.CheckBudget == 0 {
		p.CheckBudget = DefaultCheckBudget
	}
	if p.Seed == 0 {
		p.Seed = rand.New(rand.NewSource(time.Now().UnixNano())).Int63n(1<<31-1) + 1
	}
	if p.Lease, err = r.Service.Prepare(&p); err != nil {
		return bad(err)
	}
	if p.Hold == plan.HoldAuto {
		p.Hold, p.HoldAuto = DefaultHold(targets.ExpiryOf(r.Service), p.Lease), true
	}
	if wp, ok := r.Workload.(workloads.Preparer); ok {
		if err := wp.Prepare(&p, r.Service); err != nil {
			return bad(err)
		}
	}
	r.Plan = p
	env := &nemesis.Env{Service: r.Service, Plan: &r.Plan}
	for _, n := range named {
		d := n.Describe()
		if err := d.Applicable(env); err != nil {
			if !errors.Is(err, nemesis.ErrNotApplicable) {
				return bad(fmt.Errorf("nemesis %s: %w", d.Name, err))
			}
			r.note(store.NoteNotApplicable, fmt.Sprintf("Nemesis %s: %v.", d.Name, err))
			continue
		}
		r.Nemeses = append(r.Nemeses, n)
	}
	if err := nemesis.Conflicts(r.Nemeses, r.Plan.Options); err != nil {
		return bad(err)
	}
	if r.Plan.ScheduleFile != "" {
		if err := checkGiven(r.Plan, named, r.Nemeses); err != nil {
			return bad(&plan.FieldError{Field: "schedule", Msg: r.Plan.ScheduleFile + ": " + err.Error()})
		}
	} else if r.Plan.Schedule, err = schedule.Generate(&r.Plan, nemesis.Planners(r.Nemeses)); err != nil {
		return bad(err)
	}
	r.noteFencing()
	return r, nil
}

// checkGiven checks a schedule given in a file against the run p: every
// event's nemesis is registered, named by the run, and applies to its
// target (applicable), the events fit the time limit in order
// (plan.Schedule.Check), and their parameters decode. named are the
// nemeses the run names.
func checkGiven(p plan.Plan, named, applicable []nemesis.Nemesis) error {
	if err := p.Schedule.Check(p.TimeLimit); err != nil {
		return err
	}
	has := func(ns []nemesis.Nemesis, name string) bool {
		return slices.ContainsFunc(ns, func(n nemesis.Nemesis) bool { return n.Describe().Name == name })
	}
	runs := strings.Join(p.Nemeses, ", ")
	if runs == "" {
		runs = "none"
	}
	for i, ev := range p.Schedule.Events {
		if _, err := nemesis.Lookup(ev.Nemesis); err != nil {
			return plan.EventError(i, "nemesis", "%v", err)
		}
		if !has(named, ev.Nemesis) {
			return plan.EventError(i, "nemesis", "%s is not one of the run's nemeses (%s); name it in --nemesis, or leave --nemesis out to run the nemeses the schedule uses",
				ev.Nemesis, runs)
		}
		if !has(applicable, ev.Nemesis) {
			return plan.EventError(i, "nemesis", "%s does not apply to target %s (see the run's notes)", ev.Nemesis, p.Target)
		}
		if err := nemesis.CheckParams(ev); err != nil {
			return plan.EventError(i, "params", "%v", err)
		}
	}
	return nil
}

func (r *Resolved) note(kind, text string) {
	r.Notes = append(r.Notes, store.Note{Kind: kind, Text: text})
}

// UnreadOptions lists the options of p that only targets, workloads or
// nemeses that p does not use declare: options that would have no
// effect. Resolve refuses them; a campaign leaves the options it inherits
// from its defaults out of the cells that do not read them.
func UnreadOptions(p plan.Plan) []option.Stray {
	used := func(o option.Owner) bool {
		return o.Kind == "target" && o.Name == p.Target ||
			o.Kind == "workload" && o.Name == p.Workload ||
			o.Kind == "nemesis" && slices.Contains(p.Nemeses, o.Name)
	}
	return option.Unread(Owners(), used, p.Options)
}

// noteFencing says when fencing was asked for but the target has no
// tokens.
func (r *Resolved) noteFencing() {
	if !r.Plan.Fencing {
		return
	}
	if f, ok := r.Service.(targets.Fencer); ok && f.HasTokens() {
		return
	}
	r.note("fencing-unavailable", fmt.Sprintf(
		"Fencing was asked for, but %s gives no fencing tokens, so the resource could not reject stale writes.", r.Service.Name()))
}

// copyValues returns a copy of v that is never nil.
func copyValues(v option.Values) option.Values {
	out := option.Values{}
	for k, s := range v {
		out[k] = s
	}
	return out
}
