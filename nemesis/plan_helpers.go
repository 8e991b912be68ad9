package nemesis

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
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

// drawMode reads the option "<nemesis>.mode", a mode or a comma-separated
// list of modes, and draws one of them with rng; without the option it
// draws one of defaults. Every named mode must be in valid.
func drawMode(rng *rand.Rand, opts map[string]string, nemesis string, valid, defaults []string) (string, error) {
	name := nemesis + ".mode"
	list := defaults
	if s := strings.TrimSpace(opts[name]); s != "" {
		list = nil
		for _, m := range strings.Split(s, ",") {
			m = strings.TrimSpace(m)
			if !slices.Contains(valid, m) {
				return "", fmt.Errorf("option %s=%q: unknown mode %q (valid: %s)", name, s, m, strings.Join(valid, ", "))
			}
			list = append(list, m)
		}
	}
	if len(list) == 0 {
		return "", fmt.Errorf("option %s: no mode to draw from", name)
	}
	return list[rng.Intn(len(list))], nil
}

// drawAimedMode is drawMode for the nemeses that can aim at the lock
// holder's node: without the option "<nemesis>.mode", half of the faults
// aim at the holder and the other half draw one of defaults. A fault on a
// node that no holder uses rarely tests a lock at all, and one on the
// holder's node is the fault that matters in production: the GC pause,
// crash or cut cable that hits the process holding the lock.
func drawAimedMode(rng *rand.Rand, opts map[string]string, nemesis string, valid, defaults []string) (string, error) {
	if strings.TrimSpace(opts[nemesis+".mode"]) != "" {
		return drawMode(rng, opts, nemesis, valid, defaults)
	}
	if rng.Intn(2) == 0 {
		return modeHolder, nil
	}
	return drawMode(rng, opts, nemesis, valid, defaults)
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

// leaseFloor is how long a process fault must last to outlive a lease of
// ttl with some margin: 1.5 TTL plus a second, or 0 without a lease.
func leaseFloor(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return ttl*3/2 + time.Second
}

// drawDuration draws how long a fault lasts: the option
// "<nemesis>.duration" when given, else a length between half of
// p.MaxDuration and p.MaxDuration, raised to leaseFloor(p.TTL) when
// p.MaxDuration allows, so that the fault outlives the lease. Zero means
// that p.MaxDuration is zero; the generator then fills it in.
func drawDuration(rng *rand.Rand, p schedule.PlanParams, nemesis string) (time.Duration, error) {
	if s, ok := p.Opts[nemesis+".duration"]; ok && s != "" {
		d, err := durationOpt(p.Opts, nemesis+".duration", 0)
		if err != nil {
			return 0, err
		}
		if d <= 0 {
			return 0, fmt.Errorf("option %s.duration=%q must be positive", nemesis, s)
		}
		return d, nil
	}
	hi := p.MaxDuration
	if hi <= 0 {
		return 0, nil
	}
	lo := min(max(hi/2, leaseFloor(p.TTL)), hi)
	return lo + time.Duration(rng.Int63n(int64(hi-lo)+1)), nil
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
