package nemesis

import (
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
)

// The node-set modes shared by pause and kill.
const (
	modeOne       = "one"
	modeMinority  = "minority"
	modeMajority  = "majority"
	modeAll       = "all"
	modePrimaries = "primaries"
	// modeHolder aims at the node(s) through which the current lock
	// holder talks to the lock service, resolved when the fault starts.
	// Without a mode option, pause, kill and partition draw it for half of
	// their faults (drawAimedMode).
	modeHolder = "holder"
)

// nodeModes are the node-set modes of pause and kill, and drawnNodeModes
// the ones drawn, beside holder, when no mode is given. "primaries" is
// drawn only when asked for: a planner does not know whether the target
// can name its primaries.
var (
	nodeModes      = []string{modeOne, modeMinority, modeMajority, modeAll, modePrimaries}
	drawnNodeModes = []string{modeOne, modeMinority, modeMajority, modeAll}
)

// modeOption declares the option "<nemesis>.mode": a mode, or a
// comma-separated list of modes to draw from.
func modeOption(nemesis string, modes []string, help string) option.Choice {
	return option.Choice{Name: nemesis + ".mode", Choices: modes, List: true, Help: help}
}

// durationOption declares the option "<nemesis>.duration": how long each
// fault lasts, instead of the drawn length.
func durationOption(nemesis string) option.Duration {
	return option.Duration{Name: nemesis + ".duration", Positive: true,
		Help: "how long each fault lasts (default: drawn, half to all of the window, and longer than the lease)"}
}

// drawMode draws a mode with rng from those the mode option lists, or
// without the option from defaults.
func drawMode(rng *rand.Rand, mode option.Choice, opts option.Values, defaults []string) (string, error) {
	list := defaults
	if vals, ok := mode.Lookup(opts); ok {
		list = vals
	}
	if len(list) == 0 {
		return "", fmt.Errorf("option %s: no mode to draw from", mode.Name)
	}
	return list[rng.Intn(len(list))], nil
}

// drawAimedMode is drawMode for the nemeses that can aim at the lock
// holder's node: without the mode option, half of the faults aim at the
// holder and the other half draw one of defaults. A fault on a node that
// no holder uses rarely tests a lock at all, and one on the holder's node
// is the fault that matters in production: the GC pause, crash or cut
// cable that hits the process holding the lock.
func drawAimedMode(rng *rand.Rand, mode option.Choice, opts option.Values, defaults []string) (string, error) {
	if _, ok := mode.Lookup(opts); ok {
		return drawMode(rng, mode, opts, defaults)
	}
	if rng.Intn(2) == 0 {
		return modeHolder, nil
	}
	return drawMode(rng, mode, opts, defaults)
}

// majority is the size of a majority of n nodes.
func majority(n int) int { return n/2 + 1 }

// minority is the size of the largest minority of n nodes, at least one so
// that the fault hits something.
func minority(n int) int { return max(1, (n-1)/2) }

// pickByMode draws the nodes a node-set mode hits. "primaries" picks none:
// the primaries are resolved when the fault is applied.
func pickByMode(rng *rand.Rand, mode string, nodes []string) ([]string, error) {
	n := len(nodes)
	switch mode {
	case modeOne:
		return pickNodes(rng, nodes, 1), nil
	case modeMinority:
		return pickNodes(rng, nodes, minority(n)), nil
	case modeMajority:
		return pickNodes(rng, nodes, majority(n)), nil
	case modeAll:
		return slices.Clone(nodes), nil
	case modePrimaries, modeHolder:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// leaseFloor is how long a process fault must last to outlive the honoured
// lease with some margin: 1.5 leases plus a second, or 0 without a lease.
func leaseFloor(lease time.Duration) time.Duration {
	if lease <= 0 {
		return 0
	}
	return lease*3/2 + time.Second
}

// drawDuration draws how long a fault lasts: the duration option when
// given, else a length between half of p.MaxDuration and p.MaxDuration,
// raised to leaseFloor(p.Lease) when p.MaxDuration allows, so that the fault
// outlives the lease. Zero means that p.MaxDuration is zero; the generator
// then fills it in.
func drawDuration(rng *rand.Rand, p schedule.PlanParams, opt option.Duration) time.Duration {
	if d, ok := opt.Lookup(p.Opts); ok {
		return d
	}
	hi := p.MaxDuration
	if hi <= 0 {
		return 0
	}
	lo := min(max(hi/2, leaseFloor(p.Lease)), hi)
	return lo + time.Duration(rng.Int63n(int64(hi-lo)+1))
}

// shuffled returns a copy of nodes in an order drawn with rng.
func shuffled(rng *rand.Rand, nodes []string) []string {
	out := slices.Clone(nodes)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// inNodeOrder sorts names by their position in nodes.
func inNodeOrder(names, nodes []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(nodes, a) - slices.Index(nodes, b)
	})
	return out
}
