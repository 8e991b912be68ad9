package checker

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/history"
)

// ErrNoLockOps is returned by Visualize when the history (or the chosen
// key) has no completed acquire or release to draw.
var ErrNoLockOps = errors.New("no lock operations to visualize")

// VisualizeOptions choose what Visualize draws.
type VisualizeOptions struct {
	// Key restricts the drawing to one key. Empty means the first key
	// that is not linearizable, or the first key when all are.
	Key string
	// Start and End, when End > 0, prefer a failing piece that overlaps
	// this window (for example an anomaly's Start and End).
	Start, End int64
	// MaxOps bounds the number of operations drawn (default 2000).
	MaxOps int
	// Budget bounds the time spent searching (default 10s).
	Budget time.Duration
}

// Visualize writes porcupine's HTML visualization of a bounded part of h:
// the smallest window the cuts allow around the first place where no legal
// order exists, or, when the history is linearizable, the start of the
// first key. Nemesis fault windows are drawn as annotations, and
// indeterminate acquires, which the check treats as having no effect, as
// annotations on their client's row.
func Visualize(h history.History, w io.Writer, opts VisualizeOptions) error {
	if opts.MaxOps <= 0 {
		opts.MaxOps = 2000
	}
	if opts.Budget <= 0 {
		opts.Budget = 10 * time.Second
	}
	deadline := time.Now().Add(opts.Budget)
	link := pairLinks(h)
	var chosen, fallback *keyCheck
	var ops []lop
	var init lockState
	for _, ko := range lockOps(h, link) {
		if ko.bad || len(ko.ops) == 0 || (opts.Key != "" && ko.key != opts.Key) {
			continue
		}
		kc := &keyCheck{ko: ko, clipped: ko.ops}
		kc.cuts, kc.conflicts = clipAndCut(ko.ops)
		if fallback == nil {
			fallback = kc
		}
		if o, s, ok := failingWindow(kc, opts, deadline); ok {
			chosen, ops, init = kc, o, s
			break
		}
	}
	if chosen == nil {
		if fallback == nil {
			return ErrNoLockOps
		}
		chosen = fallback
		// Nothing fails: draw the start of the first key.
		cfg := linConfig{}
		cfg.fill()
		ps := choosePieces(chosen.ko.key, chosen.clipped, chosen.cuts, cfg.minPiece, freeState())
		init = ps[0].init
		for _, p := range ps {
			if len(ops)+len(p.ops) > opts.MaxOps && len(ops) > 0 {
				break
			}
			ops = append(ops, p.ops...)
		}
		ops = observe(ops, opts.MaxOps)
	}
	return drawWindow(h, w, link, chosen, ops, init, deadline)
}

// failingWindow finds an illegal window of at most opts.MaxOps operations
// on the key, preferring one that overlaps [opts.Start, opts.End].
func failingWindow(kc *keyCheck, opts VisualizeOptions, deadline time.Time) ([]lop, lockState, bool) {
	cfg := linConfig{}
	cfg.fill()
	pieces := choosePieces(kc.ko.key, kc.clipped, kc.cuts, cfg.minPiece, freeState())
	var near []piece
	if opts.End > 0 {
		for _, p := range pieces {
			if p.start <= opts.End && p.end >= opts.Start {
				near = append(near, p)
			}
		}
	}
	for _, set := range [][]piece{near, pieces} {
		verdicts := checkPieces(set, cfg, deadline)
		for i, v := range verdicts {
			if v == pIllegal {
				ops, init := narrow(kc, &set[i], deadline, false, opts.MaxOps)
				return observe(ops, opts.MaxOps), init, true
			}
		}
	}
	return nil, lockState{}, false
}

// drawWindow checks the window verbosely and renders it.
func drawWindow(h history.History, w io.Writer, link []int32, kc *keyCheck, ops []lop, init lockState, deadline time.Time) error {
	clients := clientIDs(ops)
	var start, end int64
	for i, o := range ops {
		t1 := o.ret
		if o.done >= 0 {
			t1 = h[o.done].Time
		}
		if i == 0 || o.invoked < start {
			start = o.invoked
		}
		end = max(end, t1)
	}
	var notes []porcupine.Annotation
	for _, pos := range kc.ko.dropped {
		in := h[pos]
		if in.Time < start || in.Time > end {
			continue
		}
		if _, ok := clients[in.Process]; !ok {
			clients[in.Process] = len(clients)
		}
		_, j := completion(h, link, int(pos))
		t1 := end
		if j >= 0 {
			t1 = min(h[j].Time, end)
		}
		notes = append(notes, porcupine.Annotation{ClientId: clients[in.Process], Start: in.Time, End: t1,
			Description:     fmt.Sprintf("p%d acquire → unknown", in.Process),
			Details:         "Indeterminate acquire: it may have taken effect. The check treats it as having no effect, which allows every order that its effect would allow.",
			BackgroundColor: "#eeeeee"})
	}
	for _, fw := range FaultWindows(h) {
		if fw.Start > end || fw.End < start {
			continue
		}
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: max(fw.Start, start), End: min(fw.End, end),
			Description: fw.Name, Details: fmt.Sprintf("%s from %s to %s %s", fw.Name, history.FormatTime(fw.Start),
				history.FormatTime(fw.End), string(fw.Value)), BackgroundColor: "#fde2e2"})
	}
	notes = append(notes, porcupine.Annotation{Tag: "checker", Start: start,
		Description: "start: " + describeState(init),
		Details:     fmt.Sprintf("Key %s. The window starts where the lock is certainly in this state.", kc.ko.key)})
	model := lockModel(init)
	model.DescribeOperationMetadata = func(m interface{}) string {
		o, ok := m.(*lop)
		if !ok {
			return ""
		}
		s := fmt.Sprintf("history op #%d invoked at %s", h[o.inv].Index, history.FormatTime(o.invoked))
		if o.done >= 0 {
			s += fmt.Sprintf(", completed #%d at %s", h[o.done].Index, history.FormatTime(h[o.done].Time))
		}
		return s
	}
	_, info := porcupine.CheckOperationsVerbose(model, porcOps(ops, clients), max(time.Until(deadline), time.Second))
	info.AddAnnotations(notes)
	if err := porcupine.Visualize(model, info, w); err != nil {
		return fmt.Errorf("write visualization: %w", err)
	}
	return nil
}
