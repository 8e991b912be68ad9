package checker

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/history"
)

// Linearizability checks each key's acquires and releases against an
// owner-aware mutex with leases and fencing tokens, with porcupine. The
// rules are DESIGN's: an acquire ok is legal only while the lock is free, or
// once the holder's lease may have run out (its lease after that acquire
// was invoked); a release ok only by the holder; tokens of successive grants
// increase; an indeterminate acquire may have had no effect; an
// indeterminate release may take effect at any moment after its invoke.
//
// Plain porcupine does not scale to long histories, so each key's history
// is first simplified (see lockmodel.go) and then cut at anchors, moments
// where one process certainly holds the lock (see cuts.go). The pieces are
// checked separately, within budget in total; a history is valid only if
// every piece is, invalid as soon as one piece is. A search that runs out of
// budget, or a piece too large to search, makes the verdict unknown; it is
// never guessed.
func Linearizability(h history.History, budget time.Duration) Result {
	return linearizability(h, linConfig{budget: budget, maxAnomalies: DefaultMaxAnomalies})
}

// linearizability runs the checker with cfg on the whole of h.
func linearizability(h history.History, cfg linConfig) Result {
	begin := time.Now()
	var s linState
	s.init(cfg)
	s.add(newPart(h, &scope{end: h.End(), sessions: findSessionEnds(h)}))
	r := s.result()
	r.Millis = time.Since(begin).Milliseconds()
	return r
}

// LinearizabilityDetails are the figures of the linearizability checker.
type LinearizabilityDetails struct {
	Keys          int `json:"keys"`
	Operations    int `json:"operations"`
	Indeterminate int `json:"indeterminate_acquires"`
	Pieces        int `json:"pieces"`
	LargestPiece  int `json:"largest_piece"`
	IllegalPieces int `json:"illegal_pieces"`
	UnknownPieces int `json:"unknown_pieces"`
}

// linConfig tunes the checker; tests shrink the pieces to exercise cuts.
type linConfig struct {
	budget       time.Duration
	maxAnomalies int
	minPiece     int // cut only once a piece has this many ops
	maxPiece     int // search at most this many ops of one piece
	workers      int
}

func (c *linConfig) fill() {
	if c.budget <= 0 {
		c.budget = DefaultBudget
	}
	if c.maxAnomalies <= 0 {
		c.maxAnomalies = DefaultMaxAnomalies
	}
	if c.minPiece <= 0 {
		c.minPiece = 256
	}
	if c.maxPiece <= 0 {
		c.maxPiece = 20000
	}
	if c.workers <= 0 {
		c.workers = min(runtime.GOMAXPROCS(0), 4)
	}
}

// pieceVerdict is the outcome of checking one piece.
type pieceVerdict uint8

const (
	pOk pieceVerdict = iota
	pIllegal
	pUnknown  // the search ran out of time
	pSkipped  // the budget was spent before the piece was reached
	pTooLarge // too large to search, and its searchable start is legal
)

// keyCheck is what the checker learns about one key.
type keyCheck struct {
	ko        *keyOps
	cuts      []cutPoint
	conflicts []conflict
	clipped   []lop
	first     int // index of the key's first piece in the shared list
	count     int // number of pieces
}

// linState is the linearizability checker over the parts of a history.
// One budget covers all parts.
type linState struct {
	cfg        linConfig
	deadline   time.Time
	d          LinearizabilityDetails
	status     Status
	count      int
	anomalies  []Anomaly
	unknownWhy []string
}

func (s *linState) init(cfg linConfig) {
	cfg.fill()
	s.cfg, s.deadline, s.status = cfg, time.Now().Add(cfg.budget), Valid
}

func (s *linState) add(p *part) {
	h, cfg, d := p.h, s.cfg, &s.d
	var keys []*keyCheck
	var pieces []piece
	var malformed []string
	for _, ko := range lockOps(h, p.link) {
		d.Keys++
		d.Operations += len(ko.ops)
		d.Indeterminate += len(ko.dropped)
		if ko.bad {
			malformed = append(malformed, fmt.Sprintf("process %d acted on key %s after an indeterminate operation", ko.malformed, ko.key))
			continue
		}
		ko.ops = addSessionEnds(ko.ops, p.sc.sessions)
		kc := &keyCheck{ko: ko}
		kc.cuts, kc.conflicts = clipAndCut(ko.ops)
		kc.clipped = ko.ops
		kc.first = len(pieces)
		ps := choosePieces(ko.key, ko.ops, kc.cuts, cfg.minPiece, freeState())
		if len(kc.conflicts) == 0 {
			// The pieces hold copies; only a conflict's explanation
			// needs the key's ops again.
			ko.ops, kc.clipped = nil, nil
		}
		kc.count = len(ps)
		pieces = append(pieces, ps...)
		keys = append(keys, kc)
	}
	d.Pieces += len(pieces)
	for i := range pieces {
		d.LargestPiece = max(d.LargestPiece, len(pieces[i].ops))
	}

	verdicts := checkPieces(pieces, cfg, s.deadline)

	var anomalies []Anomaly
	for _, kc := range keys {
		illegal, unknown := 0, 0
		for i := kc.first; i < kc.first+kc.count; i++ {
			switch verdicts[i] {
			case pIllegal:
				illegal++
				d.IllegalPieces++
				s.count++
				if len(anomalies) < cfg.maxAnomalies {
					anomalies = append(anomalies, explainPiece(h, kc, &pieces[i], cfg, s.deadline))
				}
			case pUnknown, pSkipped, pTooLarge:
				unknown++
				d.UnknownPieces++
			}
		}
		switch {
		case illegal > 0:
			s.status = Invalid
		case len(kc.conflicts) > 0 && unknown > 0:
			// The clipping proved the key invalid where the search
			// could not go.
			s.status = Invalid
			s.count++
			if len(anomalies) < cfg.maxAnomalies {
				anomalies = append(anomalies, explainConflict(h, kc, kc.conflicts[0]))
			}
		case len(kc.conflicts) > 0:
			// Both are proofs; they must agree. Say unknown rather
			// than guess which one is wrong.
			s.status = Merge(s.status, Unknown)
			s.unknownWhy = append(s.unknownWhy, fmt.Sprintf("key %s: the search and the cut analysis disagree (a checker bug; please report it)", kc.ko.key))
		case unknown > 0:
			s.status = Merge(s.status, Unknown)
			s.unknownWhy = append(s.unknownWhy, unknownReason(kc, pieces, verdicts))
		}
	}
	if len(malformed) > 0 {
		s.status = Merge(s.status, Unknown)
		for _, m := range malformed {
			s.unknownWhy = append(s.unknownWhy, m+", which the history format forbids, so the key was not checked")
		}
	}
	s.anomalies = keepEarliest(append(s.anomalies, anomalies...), cfg.maxAnomalies)
}

func (s *linState) result() Result {
	d := s.d
	res := Result{Checker: NameLinearizability, Status: s.status, AnomalyCount: s.count,
		Anomalies: s.anomalies, Details: mustJSON(d)}
	switch s.status {
	case Valid:
		if d.Operations == 0 {
			res.Status, res.Skipped = Unknown, true
			res.Summary = "No acquire or release completed, so linearizability was not checked."
		} else {
			res.Summary = fmt.Sprintf("Every key's lock history is linearizable (%s on %s, checked in %s).",
				Plural(d.Operations, "operation"), Plural(d.Keys, "key"), Plural(d.Pieces, "piece"))
		}
	case Invalid:
		res.Summary = fmt.Sprintf("No legal order exists for the lock operations in %s.", Plural(res.AnomalyCount, "place"))
		if len(res.Anomalies) > 0 {
			a := res.Anomalies[0]
			res.Summary = fmt.Sprintf("Key %s is not linearizable: no legal order exists for its operations between %s and %s",
				a.Key, history.FormatTime(a.Start), history.FormatTime(a.End))
			if res.AnomalyCount > 1 {
				res.Summary += fmt.Sprintf(", nor in %s", Plural(res.AnomalyCount-1, "other place"))
			}
			res.Summary += "."
		}
	default:
		res.Summary = "Linearizability undecided: " + joinWords(s.unknownWhy) + "."
	}
	return res
}

func unknownReason(kc *keyCheck, pieces []piece, verdicts []pieceVerdict) string {
	var timedOut, skipped, large, largest int
	for i := kc.first; i < kc.first+kc.count; i++ {
		switch verdicts[i] {
		case pUnknown:
			timedOut++
		case pSkipped:
			skipped++
		case pTooLarge:
			large++
			largest = max(largest, len(pieces[i].ops))
		}
	}
	var parts []string
	if timedOut+skipped > 0 {
		parts = append(parts, fmt.Sprintf("the search ran out of time with %d of %d pieces undecided", timedOut+skipped, kc.count))
	}
	if large > 0 {
		parts = append(parts, fmt.Sprintf("%s of up to %d operations could not be cut small enough to search", Plural(large, "piece"), largest))
	}
	return fmt.Sprintf("key %s: %s", kc.ko.key, joinWords(parts))
}

// checkPieces checks every piece with a bounded pool of workers and returns
// their verdicts. All workers have finished when it returns.
func checkPieces(pieces []piece, cfg linConfig, deadline time.Time) []pieceVerdict {
	verdicts := make([]pieceVerdict, len(pieces))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(cfg.workers, len(pieces)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pieces) {
					return
				}
				verdicts[i] = checkPiece(&pieces[i], cfg.maxPiece, deadline)
			}
		}()
	}
	wg.Wait()
	return verdicts
}

// checkPiece searches one piece. A piece larger than maxOps is judged on
// its first maxOps operations only: an illegal start proves the piece
// illegal; a legal start proves nothing.
func checkPiece(pc *piece, maxOps int, deadline time.Time) pieceVerdict {
	left := time.Until(deadline)
	if left <= 0 {
		return pSkipped
	}
	ops := pc.ops
	large := len(ops) > maxOps
	if large {
		ops = observe(ops, maxOps)
	}
	switch porcupine.CheckOperationsTimeout(lockModel(pc.init), porcOps(ops, nil), left) {
	case porcupine.Ok:
		if large {
			return pTooLarge
		}
		return pOk
	case porcupine.Illegal:
		return pIllegal
	}
	return pUnknown
}

// observe returns what an observer would have seen of ops (in order of
// call) by the time the m-th call was made: the operations called by then,
// with those not yet returned made indeterminate. If what was seen by then
// has no legal order, neither has the whole.
func observe(ops []lop, m int) []lop {
	if m >= len(ops) {
		return ops
	}
	t := ops[m-1].call
	for m < len(ops) && ops[m].call == t {
		m++
	}
	out := make([]lop, 0, m)
	for _, o := range ops[:m] {
		if o.ret > t {
			switch o.kind {
			case lGrant:
				continue // may not have taken effect yet
			case lRelease:
				o.kind, o.ret = lSoft, o.call
			}
		}
		out = append(out, o)
	}
	return out
}

// porcOps turns lops into porcupine operations. clients, when not nil,
// maps processes to porcupine's zero-based client ids.
func porcOps(ops []lop, clients map[int]int) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	for i := range ops {
		o := &ops[i]
		c := 0
		if clients != nil {
			c = clients[o.proc]
		}
		out[i] = porcupine.Operation{ClientId: c, Input: o, Call: o.call, Return: o.ret, Metadata: o}
	}
	return out
}

// clientIDs numbers the processes of ops from 0, in order of first call.
func clientIDs(ops []lop) map[int]int {
	ids := map[int]int{}
	for _, o := range ops {
		if _, ok := ids[o.proc]; !ok {
			ids[o.proc] = len(ids)
		}
	}
	return ids
}

// narrow finds a small illegal window inside an illegal piece: first the
// finest piece that the key's cuts allow, then, when shorten is set or the
// piece has more than maxOps operations, the shortest start of it that is
// already illegal. It returns the window's ops and start state.
func narrow(kc *keyCheck, pc *piece, deadline time.Time, shorten bool, maxOps int) ([]lop, lockState) {
	ops, init := pc.ops, pc.init
	var inside []cutPoint
	for _, c := range kc.cuts {
		if c.ret >= pc.start && c.ret <= pc.end {
			inside = append(inside, c)
		}
	}
	if len(inside) > 0 {
		for _, f := range choosePieces(pc.key, pc.ops, inside, 1, pc.init) {
			if time.Until(deadline) <= 0 {
				break
			}
			if porcupine.CheckOperationsTimeout(lockModel(f.init), porcOps(f.ops, nil), time.Until(deadline)) == porcupine.Illegal {
				ops, init = f.ops, f.init
				break
			}
		}
	}
	if !shorten && len(ops) <= maxOps {
		return ops, init
	}
	lo, hi := 1, len(ops) // the first hi ops are known to be illegal
	for lo < hi && time.Until(deadline) > 0 {
		mid := (lo + hi) / 2
		r := porcupine.CheckOperationsTimeout(lockModel(init), porcOps(observe(ops, mid), nil), time.Until(deadline))
		switch r {
		case porcupine.Illegal:
			hi = mid
		case porcupine.Ok:
			lo = mid + 1
		default:
			lo = hi
		}
	}
	return observe(ops, hi), init
}
