package workloads

import (
	"encoding/json"
	"fmt"

	"github.com/lockstorm/lockstorm/history"
)

// Recorded accesses of the trusted resource, shared by every workload.

// access records one op f on the trusted resource for the worker's
// process: the invoke with the token and the payload in, then do, then ok
// with the payload do returns, or fail with do's error. The resource lives
// in the harness, so its ops always complete.
func (w *worker) access(f, key string, token *int64, in json.RawMessage, do func() (json.RawMessage, error)) (json.RawMessage, bool) {
	w.record(history.Op{Type: history.Invoke, F: f, Key: key, Token: token, Value: in})
	out, err := do()
	if err != nil {
		w.record(history.Op{Type: history.Fail, F: f, Key: key, Token: token, Value: in, Error: err.Error()})
		return nil, false
	}
	if out == nil {
		out = in
	}
	w.record(history.Op{Type: history.Ok, F: f, Key: key, Token: token, Value: out})
	return out, true
}

// readFenced reads key presenting the holder's token. A fenced resource
// remembers the token, so that a holder with an older token can no longer
// write what it read before: fencing the writes alone would let a stale
// holder's read-modify-write land between a newer holder's read and write.
// A rejected read is recorded as a fail.
func (w *worker) readFenced(res *Resource, key string, token *int64) (int64, bool) {
	var v int64
	_, ok := w.access(history.FRead, key, token, nil, func() (json.RawMessage, error) {
		err := res.Apply(key, token, func(old int64) (int64, error) {
			v = old
			return old, nil
		})
		return jsonInt(v), err
	})
	return v, ok
}

// audit records the final value of each key, once the clients have
// stopped, as one process that follows every client process.
func audit(env *Env, res *Resource, keys []string) error {
	p := 0
	for _, op := range env.Recorder.History() {
		p = max(p, op.Process+1)
	}
	for _, k := range keys {
		if _, err := env.Recorder.Record(history.Op{Process: p, Type: history.Invoke, F: history.FAudit, Key: k}); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
		v := jsonInt(res.Read(k))
		if _, err := env.Recorder.Record(history.Op{Process: p, Type: history.Ok, F: history.FAudit, Key: k, Value: v}); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
	}
	return nil
}
