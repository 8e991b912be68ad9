package checker

import (
	"encoding/json"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

const wr = history.FWrite

func TestFencing(t *testing.T) {
	cases := []struct {
		claim   string
		h       func(t *testing.T) history.History
		status  Status
		kind    string
		details FencingDetails
	}{
		{
			claim: "a stale write that the resource accepted is invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(1, 1, acq, "k", tok(5)),
					inv(2, 2, acq, "k"), ok(3, 2, acq, "k", tok(7)),
					inv(4, 2, wr, "k", tok(7)), ok(5, 2, wr, "k", tok(7)),
					inv(6, 1, wr, "k", tok(5)), ok(7, 1, wr, "k", tok(5)))
			},
			status: Invalid, kind: KindStaleWrite,
			details: FencingDetails{Grants: 2, TokenedGrants: 2, Writes: 2, StaleAccepted: 1},
		},
		{
			claim: "a stale write that the resource rejected is valid and counted",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(1, 1, acq, "k", tok(5)),
					inv(2, 2, acq, "k"), ok(3, 2, acq, "k", tok(7)),
					inv(4, 2, wr, "k", tok(7)), ok(5, 2, wr, "k", tok(7)),
					inv(6, 1, wr, "k", tok(5)), fail(7, 1, wr, "k", tok(5), errText("stale token 5 < 7")))
			},
			status:  Valid,
			details: FencingDetails{Grants: 2, TokenedGrants: 2, Writes: 2, StaleRejected: 1},
		},
		{
			claim: "concurrent writes accepted in either order are valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 2, wr, "k", tok(7)), inv(1, 1, wr, "k", tok(5)),
					ok(2, 1, wr, "k", tok(5)), ok(3, 2, wr, "k", tok(7)))
			},
			status:  Valid,
			details: FencingDetails{Writes: 2},
		},
		{
			claim: "a grant token that goes backwards after an earlier grant returned is a regression",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(1, 1, acq, "k", tok(9)),
					inv(2, 2, acq, "k"), ok(3, 2, acq, "k", tok(4)))
			},
			status: Invalid, kind: KindTokenRegression,
			details: FencingDetails{Grants: 2, TokenedGrants: 2, Regressions: 1},
		},
		{
			claim: "concurrent grants whose completions come in the other order are not a regression",
			h: func(t *testing.T) history.History {
				// p1's grant (token 5) lapsed before p2 got token 6, but
				// p1's ok arrived last.
				return hist(t,
					inv(0, 1, acq, "k", lease(10)), inv(1, 2, acq, "k", lease(10)),
					ok(20, 2, acq, "k", tok(6)), ok(30, 1, acq, "k", tok(5)))
			},
			status:  Valid,
			details: FencingDetails{Grants: 2, TokenedGrants: 2},
		},
		{
			claim: "two grants with the same token are a regression even when concurrent",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), inv(1, 2, acq, "k"),
					ok(20, 2, acq, "k", tok(6)), ok(30, 1, acq, "k", tok(6)))
			},
			status: Invalid, kind: KindTokenRegression,
			details: FencingDetails{Grants: 2, TokenedGrants: 2, Regressions: 1, Repeats: 1},
		},
		{
			claim: "tokens on different keys are independent",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "a"), ok(1, 1, acq, "a", tok(9)),
					inv(2, 2, acq, "b"), ok(3, 2, acq, "b", tok(1)))
			},
			status:  Valid,
			details: FencingDetails{Grants: 2, TokenedGrants: 2},
		},
	}
	for _, c := range cases {
		t.Run(c.claim, func(t *testing.T) {
			r := Fencing(c.h(t))
			if r.Status != c.status {
				t.Errorf("status %s (%s), want %s", r.Status, r.Summary, c.status)
			}
			if c.kind != "" && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != c.kind) {
				t.Errorf("anomalies %v, want one %s", kinds(r), c.kind)
			}
			if c.kind == "" && len(r.Anomalies) > 0 {
				t.Errorf("unexpected anomalies %v", r.Anomalies)
			}
			var d FencingDetails
			mustUnmarshal(t, r.Details, &d)
			if d != c.details {
				t.Errorf("details %+v, want %+v", d, c.details)
			}
		})
	}
}

func TestFencingWithoutTokensIsNotChecked(t *testing.T) {
	h := hist(t, inv(0, 1, acq, "k"), ok(1, 1, acq, "k"), inv(2, 1, wr, "k"), ok(3, 1, wr, "k"))
	r := Fencing(h)
	if r.Status != Unknown || !r.Skipped || r.Summary != "No fencing tokens in this history; fencing was not checked." {
		t.Errorf("status %s skipped %v summary %q, want a skipped result that says so", r.Status, r.Skipped, r.Summary)
	}
	if v := Judge(Check(h, Options{}).Results, Rules{}); v.Status != Valid {
		t.Errorf("a skipped fencing check changed the verdict to %s", v.Status)
	}
}

func TestFencingWordsCountRight(t *testing.T) {
	cases := []struct {
		claim string
		h     func(t *testing.T) history.History
		want  string
	}{
		{"tokens only on writes", func(t *testing.T) history.History {
			return hist(t, inv(0, 1, acq, "k"), ok(1, 1, acq, "k"), inv(2, 1, wr, "k", tok(3)), ok(3, 1, wr, "k", tok(3)))
		}, "No grant carried a fencing token; no stale write reached the resource in 1 token-bearing write."},
		{"a repeated token", func(t *testing.T) history.History {
			return hist(t, inv(0, 1, acq, "k"), inv(1, 2, acq, "k"), ok(2, 1, acq, "k", tok(5)), ok(3, 2, acq, "k", tok(5)))
		}, "1 grant repeated another grant's token."},
		{"a token that went backwards and one stale write", func(t *testing.T) history.History {
			return hist(t, inv(0, 1, acq, "k"), ok(1, 1, acq, "k", tok(5)), inv(2, 1, wr, "k", tok(5)), ok(3, 1, wr, "k", tok(5)),
				inv(4, 2, acq, "k"), ok(5, 2, acq, "k", tok(4)), inv(6, 2, wr, "k", tok(4)), ok(7, 2, wr, "k", tok(4)))
		}, "1 grant token went backwards and 1 stale write got through."},
	}
	for _, c := range cases {
		if got := Fencing(c.h(t)).Summary; got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.claim, got, c.want)
		}
	}
}

func TestStaleWriteExplanation(t *testing.T) {
	h := hist(t,
		inv(6800, 2, wr, "k1", tok(7)), ok(6900, 2, wr, "k1", tok(7)),
		inv(7100, 4, wr, "k1", tok(5)), ok(7150, 4, wr, "k1", tok(5)))
	r := Fencing(h)
	want := "Process 4 wrote k1 with token 5 at 7.100s and the resource accepted it, although a write with token 7 had already been accepted at 6.900s: a stale holder changed the data."
	if len(r.Anomalies) != 1 || r.Anomalies[0].Explanation != want {
		t.Errorf("anomalies %+v", r.Anomalies)
	}
}

func TestFencingJudgesEveryTokenedResourceOpNotOnlyWrites(t *testing.T) {
	op := func(p int, typ history.Type, f, key string, tok int64, errText string) history.Op {
		return history.Op{Process: p, Type: typ, F: f, Key: key, Token: history.Tok(tok), Error: errText}
	}
	h := history.History{
		op(1, history.Invoke, history.FCharge, "o-1", 7, ""),
		op(1, history.Ok, history.FCharge, "o-1", 7, ""),
		op(2, history.Invoke, history.FCharge, "o-1", 5, ""),
		op(2, history.Fail, history.FCharge, "o-1", 5, "stale token 5 < 7"),
		op(3, history.Invoke, history.FLead, "leader", 9, ""),
		op(3, history.Ok, history.FLead, "leader", 9, ""),
		op(4, history.Invoke, history.FLead, "leader", 8, ""),
		op(4, history.Ok, history.FLead, "leader", 8, ""),
		op(5, history.Invoke, history.FRead, "o-1", 1, ""),
		op(5, history.Ok, history.FRead, "o-1", 1, ""),
	}
	for i := range h {
		h[i].Index, h[i].Time = i, int64(i)
	}
	r := Fencing(h)
	var d FencingDetails
	if err := json.Unmarshal(r.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.StaleRejected != 1 || d.StaleAccepted != 1 || d.Writes != 4 {
		t.Errorf("details %+v: want the rejected charge counted, the stale leader action caught, and the read not counted as a write", d)
	}
	if r.Status != Invalid || r.Anomalies[0].Kind != KindStaleWrite || r.Anomalies[0].Key != "leader" {
		t.Errorf("result %s %+v", r.Status, r.Anomalies)
	}
}
