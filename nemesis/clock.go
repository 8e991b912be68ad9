package nemesis

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// The clock modes.
const (
	clockBump   = "bump"
	clockStrobe = "strobe"
	clockReset  = "reset"
)

var clockModes = []string{clockBump, clockStrobe, clockReset}

// Clock defaults.
const (
	// DefaultClockMaxOffset is the default of clock.max-offset.
	DefaultClockMaxOffset = time.Minute
	// DefaultClockStrobePeriod is the default of clock.strobe-period.
	DefaultClockStrobePeriod = 200 * time.Millisecond
)

// Clock shifts the wall clock that server processes see, through the
// project's LD_PRELOAD shim (targets start their servers with it when they
// implement targets.ClockShimmed): the offset lives in a file on each node,
// which lockstorm-clock rewrites. Redis computes key expiry from the wall
// clock, so a forward jump larger than the TTL expires a node's keys early.
// Once that happens on a majority of the nodes where a Redlock holder has
// its keys, a second client wins a majority: the clock scenario of
// Kleppmann's 2016 critique of Redlock ("How to do distributed locking").
//
// Modes (option clock.mode, a mode or a comma list; by default bump or
// strobe):
//   - bump: one jump by the drawn offset, kept until the heal.
//   - strobe: the clock flips between +offset and -offset every
//     clock.strobe-period (default 200ms) until the heal.
//   - reset: sets the offset to 0 on every node (never drawn by default).
//
// The nodes are clock.nodes (one, minority, majority or all) if given,
// else a random non-empty subset.
//
// The offset's size is drawn between max(2×lease, 1s) and clock.max-offset
// (default 1m); its sign follows clock.direction: forward (the default,
// which is what breaks leases), backward, or both. Every heal sets the
// offset back to 0 and checks it.
type Clock struct{}

// clockName is the name of Clock.
const clockName = "clock"

// The options of clock.
var (
	clockModeOpt  = modeOption("clock", clockModes, "bump, strobe or reset (default: bump or strobe)")
	clockNodesOpt = option.Choice{Name: "clock.nodes", Choices: []string{modeOne, modeMinority, modeMajority, modeAll},
		Help: "which nodes jump (default: a random non-empty subset)"}
	clockDurationOpt  = durationOption("clock")
	clockMaxOffsetOpt = option.Duration{Name: "clock.max-offset", Default: DefaultClockMaxOffset, Positive: true,
		Help: "the largest jump; jumps are drawn from max(2 leases, 1s) to this"}
	clockDirectionOpt = option.Choice{Name: "clock.direction", Default: "forward", Choices: []string{"forward", "backward", "both"},
		Help: "which way the clocks jump"}
	clockPeriodOpt = option.Duration{Name: "clock.strobe-period", Default: DefaultClockStrobePeriod, Min: 10 * time.Millisecond,
		Help: "how often a strobe flips the offset"}
)

// Describe implements Nemesis.
func (c Clock) Describe() Descriptor {
	return Descriptor{
		Name:        clockName,
		Description: "shift the servers' wall clock through the clock shim (bump, strobe, reset) on a random subset of nodes, or clock.nodes",
		Options:     option.Specs(clockModeOpt, clockNodesOpt, clockDurationOpt, clockMaxOffsetOpt, clockDirectionOpt, clockPeriodOpt),
		Applies:     c.applies,
	}
}

// Plan draws the mode, the nodes, the offset and the length.
func (Clock) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	if len(p.Nodes) == 0 {
		return plan.Event{}, fmt.Errorf("clock: the run has no nodes")
	}
	mode, err := drawMode(rng, clockModeOpt, p.Opts, []string{clockBump, clockStrobe})
	if err != nil {
		return plan.Event{}, err
	}
	maxOff := clockMaxOffsetOpt.Get(p.Opts)
	period := clockPeriodOpt.Get(p.Opts)
	dir := clockDirectionOpt.Get(p.Opts)
	// By default a random non-empty subset of the nodes jumps, its size
	// drawn from 1 to all, as Jepsen's clock nemesis picks its nodes: some
	// jumps hit a minority, which Redlock's majority rides out, and some a
	// majority, which it does not. clock.nodes=one (or minority, majority,
	// all) fixes the set.
	var nodes []string
	if set := clockNodesOpt.Get(p.Opts); set != "" {
		if nodes, err = pickByMode(rng, set, p.Nodes); err != nil {
			return plan.Event{}, fmt.Errorf("option clock.nodes=%q: %w", set, err)
		}
	} else {
		nodes = pickNodes(rng, p.Nodes, 1+rng.Intn(len(p.Nodes)))
	}
	lo := min(max(2*p.Lease, time.Second), maxOff)
	off := (lo + time.Duration(rng.Int63n(int64(maxOff-lo)+1))).Truncate(time.Millisecond)
	if dir == "backward" || dir == "both" && rng.Intn(2) == 1 {
		off = -off
	}
	d := drawDuration(rng, p, clockDurationOpt)
	ev := plan.Event{Mode: mode, Targets: nodes, Duration: d}
	params := clockParams{Offset: off, Period: period}
	if mode == clockReset {
		ev.Targets = slices.Clone(p.Nodes)
		params.Offset = 0
	}
	ev.Params = params.encode(mode)
	return ev, nil
}

// clockParams are the parameters of a clock event.
type clockParams struct {
	// Offset is how far the clocks move: 0 for a reset, +offset and
	// -offset in turn for a strobe.
	Offset time.Duration
	// Period is how often a strobe flips the offset (strobes only).
	Period time.Duration
}

// encode writes p as the parameters of an event of mode: "offset", and
// "period" for a strobe.
func (p clockParams) encode(mode string) map[string]string {
	m := map[string]string{"offset": p.Offset.String()}
	if mode == clockStrobe {
		m["period"] = p.Period.String()
	}
	return m
}

// decodeClockParams reads the parameters of a clock event.
func decodeClockParams(ev plan.Event) (clockParams, error) {
	d := decodeParams(clockName, ev)
	p := clockParams{Offset: d.duration("offset")}
	if ev.Mode == clockStrobe {
		p.Period = d.positive("period")
	}
	return p, d.err
}

// applies is Clock's Descriptor.Applies: the target's servers must run
// with the clock shim.
func (c Clock) applies(env *Env) error {
	if err := needsCluster(clockName, env); err != nil {
		return err
	}
	if s, ok := env.Service.(targets.ClockShimmed); !ok || !s.ClockShimmed() {
		why := "do not run with the clock shim"
		if u, ok := env.Service.(targets.Unshimmed); ok {
			why = u.WhyNoClockShim()
		}
		return fmt.Errorf("%w: target %s's servers %s", ErrNotApplicable, env.Service.Name(), why)
	}
	return nil
}

// A strobe is the goroutine that flips the clock of a strobe event.
type strobe struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *strobe) stop() {
	s.cancel()
	<-s.done
}

// Inject sets the offset on the event's nodes and checks it; a strobe
// goes on flipping it in the background until Heal.
func (c Clock) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	params, err := decodeClockParams(ev)
	if err != nil {
		return nil, err
	}
	off := params.Offset
	if err := setClocks(ctx, env, ev.Targets, off); err != nil {
		return nil, fmt.Errorf("clock %s: %w", ev.Mode, err)
	}
	details := map[string]any{"nodes": ev.Targets, "offset": off.String()}
	if ev.Mode != clockStrobe {
		return details, nil
	}
	period := params.Period
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st := &strobe{cancel: cancel, done: make(chan struct{})}
	env.stash(ev, st)
	go func() {
		defer close(st.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for sign := -1; ; sign = -sign {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			// The flip is not cut short by stop: a command that went on
			// running on the node after Heal's reset would undo it.
			fctx, fcancel := context.WithTimeout(context.WithoutCancel(sctx), 10*time.Second)
			if err := setClocks(fctx, env, ev.Targets, time.Duration(sign)*off); err != nil {
				env.Log.Warn("clock strobe", "err", err)
			}
			fcancel()
		}
	}()
	details["period"] = period.String()
	return details, nil
}

// Heal stops a strobe and sets the offset of the event's nodes back to 0.
func (c Clock) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	if v, ok := env.take(ev); ok {
		v.(*strobe).stop()
	}
	nodes := ev.Targets
	if len(nodes) == 0 {
		nodes = env.nodes()
	}
	if err := setClocks(ctx, env, nodes, 0); err != nil {
		return nil, fmt.Errorf("reset clock: %w", err)
	}
	return nil, nil
}

// Teardown stops every strobe and sets every node's offset to 0.
func (c Clock) Teardown(ctx context.Context, env *Env) error {
	env.pending.Range(func(k, v any) bool {
		if key, ok := k.(eventKey); ok && key.nemesis == clockName {
			if s, ok := v.(*strobe); ok {
				s.stop()
				env.pending.Delete(k)
			}
		}
		return true
	})
	if env.Cluster == nil {
		return nil
	}
	return setClocks(ctx, env, env.nodes(), 0)
}

// setClocks writes off into the offset file of each node and checks that
// the file holds it.
func setClocks(ctx context.Context, env *Env, nodes []string, off time.Duration) error {
	const body = `"$1" set "$2" && "$1" get`
	return onNodes(nodes, func(node string) error {
		out, err := script(ctx, env.Cluster, node, body, nil, runtime.ClockTool, fmt.Sprintf("%dns", off.Nanoseconds()))
		if err != nil {
			return fmt.Errorf("set clock offset %s: %w", off, err)
		}
		if got := strings.TrimSpace(out); got != strconv.FormatInt(off.Nanoseconds(), 10) {
			return fmt.Errorf("on %s: clock offset reads %q after setting %d", node, got, off.Nanoseconds())
		}
		return nil
	})
}

// readShift reads, on node, the offset file and how far a process with the
// shim preloaded sees the wall clock ahead of one without, retrying while
// a strobe changes the offset between the two reads.
func readShift(ctx context.Context, env *Env, node string) (file, seen time.Duration, err error) {
	const body = `a=$("$1" get); s=$(LD_PRELOAD="$2" date +%s%N); r=$(date +%s%N); b=$("$1" get)
echo "$a $s $r $b"`
	for try := 0; try < 10; try++ {
		out, err := script(ctx, env.Cluster, node, body, nil, runtime.ClockTool, runtime.ShimPath)
		if err != nil {
			return 0, 0, err
		}
		f := strings.Fields(out)
		if len(f) != 4 {
			return 0, 0, fmt.Errorf("on %s: cannot read clock shift from %q", node, out)
		}
		var v [4]int64
		for i := range f {
			if v[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return 0, 0, fmt.Errorf("on %s: cannot read clock shift from %q", node, out)
			}
		}
		if v[0] == v[3] {
			return time.Duration(v[0]), time.Duration(v[1] - v[2]), nil
		}
	}
	return 0, 0, fmt.Errorf("on %s: the clock offset kept changing while read", node)
}

// Observe implements Observer: on every node of the event the offset file
// holds the event's offset (or its negation, for a strobe), and a process
// started with the shim sees its wall clock shifted by that much.
func (c Clock) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	params, err := decodeClockParams(ev)
	if err != nil {
		return err
	}
	off := params.Offset
	return onNodes(ev.Targets, func(node string) error {
		file, seen, err := readShift(ctx, env, node)
		if err != nil {
			return err
		}
		if file != off && !(ev.Mode == clockStrobe && file == -off) {
			return fmt.Errorf("on %s: clock offset is %s, want %s", node, file, off)
		}
		if d := seen - file; d < -500*time.Millisecond || d > 500*time.Millisecond {
			return fmt.Errorf("on %s: a shimmed process sees the clock %s ahead, want %s", node, seen, file)
		}
		return nil
	})
}

// Clean implements Observer: every node's offset is 0, and shimmed
// processes see the real time.
func (c Clock) Clean(ctx context.Context, env *Env) error {
	return onNodes(env.nodes(), func(node string) error {
		file, seen, err := readShift(ctx, env, node)
		if err != nil {
			return err
		}
		if file != 0 {
			return fmt.Errorf("on %s: clock offset is %s, want 0", node, file)
		}
		if seen < -500*time.Millisecond || seen > 500*time.Millisecond {
			return fmt.Errorf("on %s: a shimmed process sees the clock %s ahead with offset 0", node, seen)
		}
		return nil
	})
}
