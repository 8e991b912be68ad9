package history

import (
	"io"
	"sync"
)

// Decoding lines costs about twice what validating and keeping the ops
// does, and both are work for one core each. So ReadAll and ReadSplit
// decode ahead on a goroutine of their own, a batch of lines at a time,
// while the caller's goroutine validates and keeps the ops in order. The
// result is the same as reading with Next: the same ops, the same first
// error. The goroutine ends before each returns.

// readAheadBatch is how many lines are decoded ahead at a time.
const readAheadBatch = 1024

// A batch is a run of decoded ops with their line numbers; end, when set,
// says how the lines ran out after them.
type batch struct {
	ops   []Op
	lines []int
	end   *end
	// read is how many bytes of input the lines up to this batch's end
	// took.
	read int64
}

// each validates every op of the rest of the history, in order, and hands
// it to keep. It returns nil at the end of a history that holds ops, and
// otherwise what Next would have returned first (a *TruncatedError for a
// torn final line, a *LineError for bad input).
func (r *Reader) each(keep func(*Op)) error {
	if r.done != nil {
		return r.result(r.done)
	}
	full := make(chan *batch, 2)
	free := make(chan *batch, 3)
	for i := 0; i < cap(free); i++ {
		free <- &batch{ops: make([]Op, 0, readAheadBatch), lines: make([]int, 0, readAheadBatch)}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.decodeAhead(full, free, done)
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()
	for b := range full {
		r.consumed = b.read
		for i := range b.ops {
			r.v.line = b.lines[i]
			if err := r.v.Check(b.ops[i]); err != nil {
				r.done = err
				return err
			}
			keep(&b.ops[i])
		}
		if b.end != nil {
			r.done = r.finish(b.end)
			return r.result(r.done)
		}
		free <- b
	}
	return nil // not reached: the last batch carries its end
}

// result maps Next's final error onto each's: io.EOF is a clean end.
func (r *Reader) result(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// decodeAhead decodes lines into batches until the lines run out or done
// is closed, and closes full.
func (r *Reader) decodeAhead(full chan<- *batch, free <-chan *batch, done <-chan struct{}) {
	defer close(full)
	for {
		var b *batch
		select {
		case b = <-free:
		case <-done:
			return
		}
		b.ops, b.lines, b.end = b.ops[:0], b.lines[:0], nil
		for len(b.ops) < readAheadBatch && b.end == nil {
			b.ops = b.ops[:len(b.ops)+1]
			line, e := r.parseNext(&b.ops[len(b.ops)-1])
			if e != nil {
				b.ops, b.end = b.ops[:len(b.ops)-1], e
				break
			}
			b.lines = append(b.lines, line)
		}
		b.read = r.total
		select {
		case full <- b:
		case <-done:
			return
		}
		if b.end != nil {
			return
		}
	}
}
