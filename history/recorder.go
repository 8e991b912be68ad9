package history

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// FlushInterval is the longest that a recorded op stays only in memory.
const FlushInterval = 500 * time.Millisecond

// flushSize is how many bytes of whole lines the recorder buffers before it
// writes them out.
const flushSize = 64 << 10

// A Recorder appends ops to a history as they happen and streams them to a
// writer. It assigns indexes and times from one monotonic clock, validates
// every op with the same rules as the reader, keeps the ops in memory for the
// checkers, and flushes buffered lines at least every FlushInterval and on
// Close, so that a run that crashes keeps what happened up to the crash.
// It writes whole lines only, each flush in one Write, so that a crash
// between writes leaves no torn line; a crash inside a write may still cut
// the last line short, which the reader accepts as the crash point.
//
// A Recorder is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	w       io.Writer
	buf     []byte // whole lines not yet written
	sync    func() error
	closeFn func() error
	v       *Validator
	ops     History
	err     error
	done    chan struct{}
	closed  bool
	stopped sync.WaitGroup
}

// NewRecorder returns a recorder that writes to w, with time 0 at start.
// sync, if not nil, is called after each flush (for example os.File.Sync).
func NewRecorder(w io.Writer, start time.Time) *Recorder {
	r := &Recorder{
		start: start,
		w:     w,
		buf:   make([]byte, 0, flushSize+4096),
		v:     NewValidator("history"),
		done:  make(chan struct{}),
	}
	r.stopped.Add(1)
	go r.flushLoop()
	return r
}

// CreateFile creates path, which must not exist (a symbolic link there is
// not followed), and returns a recorder streaming to it. Close closes the
// file.
func CreateFile(path string, start time.Time) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	r := NewRecorder(f, start)
	r.v.name = path
	r.closeFn = f.Close
	return r, nil
}

func (r *Recorder) flushLoop() {
	defer r.stopped.Done()
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			r.flushLocked()
			r.mu.Unlock()
		}
	}
}

func (r *Recorder) flushLocked() {
	if r.err != nil {
		return
	}
	if len(r.buf) == 0 {
		return
	}
	if _, err := r.w.Write(r.buf); err != nil {
		r.err = fmt.Errorf("write history: %w", err)
	}
	r.buf = r.buf[:0]
}

// Now returns the current time of the history, in nanoseconds since start.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// Record stamps op with the next index and the current time, validates it,
// appends it, and returns the stamped op. An op that breaks the format is a
// bug in the harness, so it is reported as an error and not written.
func (r *Recorder) Record(op Op) (Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return op, fmt.Errorf("record %s: recorder closed", op.F)
	}
	op.Index = len(r.ops)
	op.Time = int64(time.Since(r.start))
	// Library errors may hold bytes that are not UTF-8; the file must be
	// UTF-8, and the ops in memory must match the file.
	op.Error = strings.ToValidUTF8(op.Error, "\uFFFD")
	op.Node = strings.ToValidUTF8(op.Node, "\uFFFD")
	if op.Time < r.v.lastTime { // time.Since is monotonic; guard anyway
		op.Time = r.v.lastTime
	}
	r.v.line++
	if err := r.v.Check(op); err != nil {
		return op, fmt.Errorf("record: %w", err)
	}
	r.ops = append(r.ops, op)
	if r.err == nil {
		b, err := json.Marshal(op)
		if err != nil {
			r.err = fmt.Errorf("encode op: %w", err)
		} else {
			r.buf = append(append(r.buf, b...), '\n')
			if len(r.buf) >= flushSize {
				r.flushLocked()
			}
		}
	}
	return op, nil
}

// History returns a copy of the ops recorded so far.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(History(nil), r.ops...)
}

// Len returns how many ops have been recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

// Close flushes, stops the flusher and closes the file. It is idempotent.
// Invokes still outstanding at Close count as info by the rules of the
// format.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.closed = true
	close(r.done)
	r.flushLocked()
	err := r.err
	r.mu.Unlock()
	r.stopped.Wait()
	if r.closeFn != nil {
		if cerr := r.closeFn(); cerr != nil && err == nil {
			err = fmt.Errorf("close history: %w", cerr)
		}
	}
	return err
}
