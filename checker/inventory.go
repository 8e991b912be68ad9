package checker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// Anomaly kinds of the inventory checker.
const (
	// KindLostUpdate: deductions took effect that the final stock does
	// not show, because a holder wrote back a stock computed from a stale
	// read (the chapter's "double deduction", 7.2.2).
	KindLostUpdate = "lost-update"
	// KindNegativeStock: a deduction left the stock below zero: more
	// orders were served than there was stock.
	KindNegativeStock = "negative-stock"
)

// InventoryDetails are the figures of the inventory checker. Stock figures
// add up over all items.
type InventoryDetails struct {
	// Initial is the stock every item starts with.
	Initial int64 `json:"initial"`
	// Items is the number of stock keys in the history.
	Items int `json:"items"`
	// Final is the audited final stock, summed over the items; nil when
	// the history has no audit of every item.
	Final *int64 `json:"final"`
	// Deductions counts the stock writes that returned ok: each is one
	// order served.
	Deductions int `json:"deductions"`
	// Indeterminate counts stock writes without a known outcome.
	Indeterminate int `json:"indeterminate"`
	// LostUpdates counts deductions that the stock does not show.
	LostUpdates int `json:"lost_updates"`
	// Negative counts deductions that left an item's stock below zero.
	Negative int `json:"negative"`
	// Fenced counts reads and writes the resource rejected for a stale
	// fencing token.
	Fenced int `json:"fenced"`
}

// stockWrite is one completed stock write.
type stockWrite struct {
	proc       int
	value      int64
	inv, done  int64
	op         int
	token      *int64
	readValue  int64 // the holder's last read before the write, -1 if none
	readExists bool
}

// Inventory checks an inventory history: servers read an item's stock
// under the lock, work, and write back the stock less one. A write that
// returned ok is a deduction. Two deductions that wrote the same stock value
// deducted two orders from one stock level: one of them was lost. With an
// audit of the final stock (a history.FAudit op per item), the checker
// also counts deductions undone by stale writes that put an older stock
// back: lost updates are then exactly the deductions that returned ok
// minus what the stock fell by (never below zero; an indeterminate write
// can only make this count smaller). A deduction that left the stock below
// zero is reported too. initial is the stock every item started with.
func Inventory(h history.History, initial int64) Result {
	begin := time.Now()
	res := Result{Checker: NameInventory}
	d := InventoryDetails{Initial: initial}
	writes := map[string][]stockWrite{}
	finals := map[string]int64{}
	var keys []string
	seen := map[string]bool{}
	lastRead := map[procKey]int64{}
	var lastTime int64
	for _, op := range Pair(h) {
		in, done := op.Invoke, op.Done
		if in.F != history.FRead && in.F != history.FWrite && in.F != history.FAudit {
			continue
		}
		if !seen[in.Key] {
			seen[in.Key] = true
			keys = append(keys, in.Key)
		}
		if done.Type == history.Fail && IsFencingRejection(done.Error) {
			d.Fenced++
			continue
		}
		pk := procKey{in.Process, in.Key}
		switch in.F {
		case history.FRead:
			if v, ok := wlInt(done.Value); ok && done.Type == history.Ok {
				lastRead[pk] = v
			}
		case history.FAudit:
			if v, ok := wlInt(done.Value); ok && done.Type == history.Ok {
				finals[in.Key] = v
				lastTime = max(lastTime, done.Time)
			}
		case history.FWrite:
			switch done.Type {
			case history.Info:
				d.Indeterminate++
			case history.Ok:
				v, ok := wlInt(done.Value)
				if !ok {
					v, ok = wlInt(in.Value)
				}
				if !ok {
					continue
				}
				rv, rok := lastRead[pk]
				tok := done.Token
				if tok == nil {
					tok = in.Token
				}
				writes[in.Key] = append(writes[in.Key], stockWrite{proc: in.Process, value: v, inv: in.Time,
					done: done.Time, op: done.Index, token: tok, readValue: rv, readExists: rok})
				d.Deductions++
			}
			delete(lastRead, pk)
		}
	}
	d.Items = len(keys)
	var found []Anomaly
	audited := len(keys) > 0
	var finalSum int64
	for _, key := range keys {
		ws := writes[key]
		dupLost, as := inventoryDuplicates(key, ws)
		found = append(found, as...)
		lost := dupLost
		if final, ok := finals[key]; ok {
			finalSum += final
			if auditLost := len(ws) - int(initial-final); auditLost > dupLost {
				found = append(found, inventoryUndone(key, ws, initial, final, auditLost-dupLost, lastTime))
				lost = auditLost
			}
		} else {
			audited = false
		}
		d.LostUpdates += lost
		neg, an := inventoryNegative(key, ws)
		d.Negative += neg
		if neg > 0 {
			found = append(found, an)
		}
	}
	if audited {
		d.Final = &finalSum
	}
	res.AnomalyCount = len(found)
	res.Anomalies = keepEarliest(found, DefaultMaxAnomalies)
	res.Details = mustJSON(d)
	res.Status, res.Summary = inventorySummary(d)
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

func inventorySummary(d InventoryDetails) (Status, string) {
	if d.LostUpdates == 0 && d.Negative == 0 {
		s := fmt.Sprintf("Every deduction took effect (%s on %s)", Plural(d.Deductions, "deduction"), Plural(d.Items, "item"))
		if d.Final == nil {
			s += "; no two deductions wrote the same stock, but the final stock was not recorded"
		} else {
			s += fmt.Sprintf(": the stock fell from %d to %d", d.Initial*int64(d.Items), *d.Final)
		}
		if d.Fenced > 0 {
			s += fmt.Sprintf("; fencing rejected %s by stale holders", Plural(d.Fenced, "resource access"))
		}
		return Valid, s + "."
	}
	var parts []string
	if d.LostUpdates > 0 {
		p := fmt.Sprintf("%d of %s were lost", d.LostUpdates, Plural(d.Deductions, "deduction"))
		if d.Final != nil {
			p += fmt.Sprintf(" (the stock fell by %d)", d.Initial*int64(d.Items)-*d.Final)
		}
		parts = append(parts, p)
	}
	if d.Negative > 0 {
		parts = append(parts, fmt.Sprintf("%s left the stock below zero", Plural(d.Negative, "deduction")))
	}
	return Invalid, upperFirst(joinWords(parts)) + "."
}

// inventoryDuplicates finds the deductions of one item that wrote the same
// stock value: all but one of each group were lost.
func inventoryDuplicates(key string, ws []stockWrite) (int, []Anomaly) {
	groups := map[int64][]stockWrite{}
	var values []int64
	for _, w := range ws {
		if _, ok := groups[w.value]; !ok {
			values = append(values, w.value)
		}
		groups[w.value] = append(groups[w.value], w)
	}
	lost := 0
	var out []Anomaly
	for _, v := range values {
		g := groups[v]
		if len(g) < 2 {
			continue
		}
		lost += len(g) - 1
		sort.SliceStable(g, func(a, b int) bool { return g[a].done < g[b].done })
		an := Anomaly{Kind: KindLostUpdate, Key: key, Start: g[0].inv, End: g[0].done}
		var who []string
		for _, w := range g {
			an.Processes = append(an.Processes, w.proc)
			an.Ops = append(an.Ops, w.op)
			an.Start, an.End = min(an.Start, w.inv), max(an.End, w.done)
			who = append(who, fmt.Sprintf("process %d at %s%s", w.proc, history.FormatTime(w.done), wlTokenPhrase(w.token)))
		}
		from := ""
		if g[0].readExists && g[0].readValue == v+1 {
			from = fmt.Sprintf(", each after reading %d", v+1)
		}
		all := "all"
		if len(g) == 2 {
			all = "both"
		}
		an.Explanation = fmt.Sprintf("%s orders were deducted from %s but the stock fell only once: %s %s wrote stock %d%s, "+
			"so %s lost.", wlCount(len(g)), key, joinWords(who), all, v, from, wlLostPhrase(len(g)-1))
		out = append(out, an)
	}
	return lost, out
}

// inventoryUndone describes deductions that the audit shows were lost
// beyond the duplicated values: stale writes put an older stock back.
func inventoryUndone(key string, ws []stockWrite, initial, final int64, n int, end int64) Anomaly {
	an := Anomaly{Kind: KindLostUpdate, Key: key, End: end}
	if len(ws) > 0 {
		an.Start = ws[0].inv
	}
	procs := map[int]bool{}
	for _, w := range ws {
		if !procs[w.proc] && len(an.Processes) < 10 {
			an.Processes = append(an.Processes, w.proc)
		}
		procs[w.proc] = true
	}
	sort.Ints(an.Processes)
	more := fmt.Sprintf("%d more deductions were", n)
	if n == 1 {
		more = "1 more deduction was"
	}
	an.Explanation = fmt.Sprintf("The stock of %s fell from %d to %d, by %d, although %s returned ok: besides the "+
		"duplicated stock values, %s undone by holders that wrote back a stock computed from a stale read.",
		key, initial, final, initial-final, Plural(len(ws), "deduction"), more)
	return an
}

// inventoryNegative counts the deductions that left the stock below zero
// and describes the first.
func inventoryNegative(key string, ws []stockWrite) (int, Anomaly) {
	n := 0
	var an Anomaly
	for _, w := range ws {
		if w.value >= 0 {
			continue
		}
		if n == 0 {
			an = Anomaly{Kind: KindNegativeStock, Key: key, Processes: []int{w.proc}, Start: w.inv, End: w.done,
				Ops: []int{w.op}, Explanation: fmt.Sprintf("Process %d deducted an order from %s at %s and left the "+
					"stock at %d: more orders were served than there was stock.", w.proc, key, history.FormatTime(w.done), w.value)}
		}
		an.End = max(an.End, w.done)
		n++
	}
	if n > 1 {
		an.Explanation = strings.TrimSuffix(an.Explanation, ".") + fmt.Sprintf("; %d deductions in all went below zero.", n)
	}
	return n, an
}

// wlInt reads a JSON integer payload.
func wlInt(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false
	}
	return v, true
}

// wlTokenPhrase renders " (token 5)" or "" when there is no token.
func wlTokenPhrase(t *int64) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf(" (token %d)", *t)
}

// wlCount spells small counts as words: "Two", "Three".
func wlCount(n int) string {
	words := []string{"No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"}
	if n >= 0 && n < len(words) {
		return words[n]
	}
	return fmt.Sprint(n)
}

func wlLostPhrase(n int) string {
	if n == 1 {
		return "1 deduction was"
	}
	return fmt.Sprintf("%d deductions were", n)
}
