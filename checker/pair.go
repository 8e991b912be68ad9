package checker

import "github.com/lockstorm/lockstorm/history"

// An Operation is one client operation: its invocation and its completion.
type Operation struct {
	// Invoke is the invocation record.
	Invoke history.Op
	// Done is the completion record. When the history ends before the
	// operation completes, Done is synthesized: type info, time the end of
	// the history, index -1, and Missing is true.
	Done history.Op
	// Missing reports that Done was synthesized.
	Missing bool
}

// Pair matches every client invocation with its completion: the next
// completion of the same process. Invocations come out in history order.
// Nemesis records are left out, and so are completions that match no
// invocation.
func Pair(h history.History) []Operation {
	link := pairLinks(h)
	end := h.End()
	var out []Operation
	for i, o := range h {
		if o.IsNemesis() || o.Type != history.Invoke {
			continue
		}
		op := Operation{Invoke: o}
		if j := link[i]; j >= 0 {
			op.Done = h[j]
		} else {
			op.Missing = true
			op.Done = history.Op{Index: -1, Time: end, Process: o.Process, Type: history.Info,
				F: o.F, Key: o.Key, Error: "no completion before the end of the history"}
		}
		out = append(out, op)
	}
	return out
}

// pairLinks returns, for every position of h, the position of its partner:
// for an invocation its completion, for a completion its invocation, and
// -1 when there is none (nemesis records, unmatched records).
func pairLinks(h history.History) []int32 {
	link := make([]int32, len(h))
	pending := make(map[int]int32)
	for i := range h {
		link[i] = -1
		o := &h[i]
		if o.IsNemesis() {
			continue
		}
		if o.Type == history.Invoke {
			// A second invocation while one is outstanding breaks the
			// format's rules; the earlier one stays without completion.
			pending[o.Process] = int32(i)
			continue
		}
		if j, ok := pending[o.Process]; ok {
			link[i] = j
			link[j] = int32(i)
			delete(pending, o.Process)
		}
	}
	return link
}

// completion returns the completion type of the invocation at position i,
// treating a missing completion as info, and the completion's position
// (-1 when missing).
func completion(h history.History, link []int32, i int) (history.Type, int) {
	j := link[i]
	if j < 0 {
		return history.Info, -1
	}
	return h[j].Type, int(j)
}
