package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
)

// A Runner applies a schedule during a run and records every fault's start
// and stop in the history as ops of process -1: "start-<nemesis>" once the
// fault is in effect, "stop-<nemesis>" once it is healed.
type Runner struct {
	Env      *Env
	Recorder *history.Recorder
	Nemeses  []Nemesis
	Schedule plan.Schedule
}

// faultValue is the value of a start or stop op.
type faultValue struct {
	Mode    string            `json:"mode,omitempty"`
	Targets []string          `json:"targets,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Details any               `json:"details,omitempty"`
}

// Run applies the schedule, with offsets counted from begin, until the
// schedule is done or ctx ends. A fault that is active when ctx ends is
// healed before Run returns. Errors of single faults are recorded in the
// history and do not stop the run; Run returns them joined.
func (r *Runner) Run(ctx context.Context, begin time.Time) error {
	byName := map[string]Nemesis{}
	for _, n := range r.Nemeses {
		byName[n.Describe().Name] = n
	}
	var errs []error
	for _, ev := range r.Schedule.Events {
		n, ok := byName[ev.Nemesis]
		if !ok {
			errs = append(errs, fmt.Errorf("schedule names nemesis %q that is not in the run", ev.Nemesis))
			continue
		}
		if !wait.Until(ctx, begin.Add(ev.Start)) {
			break
		}
		if err := r.apply(ctx, n, ev); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply injects one event, waits out its duration, and heals it. The heal
// runs even when ctx ends during the fault.
func (r *Runner) apply(ctx context.Context, n Nemesis, ev plan.Event) error {
	name := n.Describe().Name
	injectCtx, cancel := context.WithTimeout(ctx, ev.Duration+30*time.Second)
	details, err := n.Inject(injectCtx, r.Env, ev)
	cancel()
	val := faultValue{Mode: ev.Mode, Targets: ev.Targets, Params: ev.Params, Details: details}
	if err != nil {
		started := r.record(history.FStartPrefix+name, val, err)
		r.say(started, started.Value, name, ev, "did not strike")
		// Undo whatever part of the fault did take effect.
		healCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, herr := n.Heal(healCtx, r.Env, ev)
		cancel()
		if herr != nil {
			r.Env.Log.Warn("heal after failed inject", "nemesis", name, "err", herr)
		}
		return fmt.Errorf("inject %s: %w", name, err)
	}
	started := r.record(history.FStartPrefix+name, val, nil)
	r.say(started, started.Value, name, ev, "struck")
	wait.Sleep(ctx, ev.Duration)
	healCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ev.Duration+30*time.Second)
	details, err = n.Heal(healCtx, r.Env, ev)
	cancel()
	healed := r.record(history.FStopPrefix+name, faultValue{Mode: ev.Mode, Targets: ev.Targets, Details: details}, err)
	if err != nil {
		r.say(healed, started.Value, name, ev, "did not heal")
	} else {
		r.say(healed, started.Value, name, ev, "healed")
	}
	if err != nil {
		return fmt.Errorf("heal %s: %w", name, err)
	}
	return nil
}

// HealAll tears every nemesis of the run down, whatever state it is in, and
// records one "heal-all" op. It is used at the end of every run, also after
// errors.
func (r *Runner) HealAll(ctx context.Context) error {
	var errs []error
	for _, n := range r.Nemeses {
		if err := n.Teardown(ctx, r.Env); err != nil {
			errs = append(errs, fmt.Errorf("teardown %s: %w", n.Describe().Name, err))
		}
	}
	err := errors.Join(errs...)
	if len(r.Nemeses) > 0 {
		r.record("heal-all", nil, err)
	}
	return err
}

// say logs, at info level (so on the run's console unless it is quiet),
// one line for a fault that struck, was healed, or failed to: when, on
// the run's clock (the recorded op's time, rounded to ms), which nemesis
// in which mode, and what it struck, as the run page's fault table says
// it (history.Struck of struck, the value of its start op); for a
// failure, why.
func (r *Runner) say(op history.Op, struck json.RawMessage, name string, ev plan.Event, what string) {
	if r.Env == nil || r.Env.Log == nil || op.F == "" {
		return
	}
	attrs := []any{"at", time.Duration(op.Time).Round(time.Millisecond).String(), "nemesis", name}
	if ev.Mode != "" {
		attrs = append(attrs, "mode", ev.Mode)
	}
	if s := history.Struck(struck, ev.Targets); s != "" {
		attrs = append(attrs, "struck", s)
	}
	if op.Error != "" {
		r.Env.Log.Warn("fault "+what, append(attrs, "err", op.Error)...)
		return
	}
	r.Env.Log.Info("fault "+what, attrs...)
}

// record records a nemesis op and returns it as recorded (with its time);
// the zero Op if it could not be recorded.
func (r *Runner) record(f string, val any, err error) history.Op {
	op := history.Op{Process: history.NemesisProcess, Type: history.Info, F: f}
	if val != nil {
		if b, merr := json.Marshal(val); merr == nil && string(b) != "{}" {
			op.Value = b
		}
	}
	if err != nil {
		op.Error = err.Error()
	}
	out, rerr := r.Recorder.Record(op)
	if rerr != nil {
		r.Env.Log.Error("record nemesis op", "f", f, "err", rerr)
		return history.Op{}
	}
	return out
}
