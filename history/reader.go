package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lockstorm/lockstorm/internal/inputfile"
)

// ErrMalformed is wrapped by every error about the content of a history, so
// that callers can tell bad input (exit 3) from I/O failures.
var ErrMalformed = errors.New("malformed history")

// ErrTruncated is wrapped by a TruncatedError.
var ErrTruncated = errors.New("history cut short")

// A LineError locates a problem in a history file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap lets errors.Is(err, ErrMalformed) hold for every LineError.
func (e *LineError) Unwrap() error { return ErrMalformed }

// A TruncatedError says that the final line of a history was cut short:
// it has no newline and cannot be read, as when the process that wrote it
// was killed mid-write. It is the crash point of a run that broke off, not
// bad input, when at least one op came before it (a file whose only line
// is torn is malformed). The reader returns the ops before it together
// with this error,
// and callers judge those as a run that broke off: valid is then out of
// reach, unknown is the best verdict.
type TruncatedError struct {
	File string
	// Line is the number of the torn line; the ops before it were read.
	Line int
	// Ops is how many ops were read before it.
	Ops int
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("%s:%d: the final line is cut short (the run broke off there, as a crash does); "+
		"the %s before it were read", e.File, e.Line, pluralOps(e.Ops))
}

// Reason says in a phrase why the history ends there, for a verdict's
// "the run broke off (...)".
func (e *TruncatedError) Reason() string {
	return fmt.Sprintf("the last line of %s, line %d, is cut short, as a crash leaves it", e.File, e.Line)
}

// Unwrap lets errors.Is(err, ErrTruncated) hold.
func (e *TruncatedError) Unwrap() error { return ErrTruncated }

func pluralOps(n int) string {
	if n == 1 {
		return "1 op"
	}
	return fmt.Sprintf("%d ops", n)
}

// maxLine bounds one history line; a longer one is reported, not read.
const maxLine = 16 << 20

// ReadFile reads and validates the history at path. A file that is not a
// regular file (a directory, a named pipe, a device) is refused at once,
// without reading from it. A torn final line is reported as a
// *TruncatedError, together with the ops before it.
func ReadFile(path string) (History, error) {
	f, size, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := NewReader(f, path)
	r.sizeHint = size
	return r.ReadAll()
}

// OpenFile opens the history at path for reading and returns its size. It
// refuses anything but a regular file with an error that wraps
// ErrMalformed, and never blocks on it: a named pipe is opened without
// waiting for a writer.
func OpenFile(path string) (*os.File, int64, error) {
	f, st, err := inputfile.Open(path)
	if errors.Is(err, inputfile.ErrNotRegular) {
		return nil, 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open history: %w", err)
	}
	return f, st.Size(), nil
}

// Read reads a history in JSON Lines form from r and validates it as it
// goes. name is used in error messages (usually the file path). Blank
// lines are skipped. Validation follows docs/history.md; the first broken
// rule stops it with a *LineError. A torn final line gives a
// *TruncatedError together with the ops before it.
func Read(r io.Reader, name string) (History, error) {
	return NewReader(r, name).ReadAll()
}

// A Reader reads a history one op at a time, validating as it goes, with
// the memory of one line.
type Reader struct {
	r      io.Reader
	v      *Validator
	parser *lineParser
	lineNo int // lines read so far
	buf    []byte
	start  int // unread data is buf[start:end]
	end    int
	eof    bool
	empty  int  // reads in a row that returned nothing
	first  bool // no line read yet
	done   error
	// total counts the bytes of the lines returned so far; consumed is
	// what the ops validated so far took, as the validating goroutine
	// knows it.
	total    int64
	consumed int64
	// sizeHint is the size of the input in bytes, when known.
	sizeHint int64
}

// NewReader returns a reader of the history in r, whose errors name the
// given file.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{r: r, v: NewValidator(name), parser: newLineParser(), buf: make([]byte, 256<<10), first: true}
}

// Next reads the next op into op. At the end of the history it returns
// io.EOF, or a *TruncatedError when the final line was torn. A history
// with no op at all is malformed.
func (r *Reader) Next(op *Op) error {
	if r.done != nil {
		return r.done
	}
	line, end := r.parseNext(op)
	if end != nil {
		r.done = r.finish(end)
		return r.done
	}
	r.v.line = line
	if err := r.v.Check(*op); err != nil {
		r.done = err
	}
	return r.done
}

// An end is how the lines of a history ran out.
type end struct {
	// err is a problem with a line or with reading, nil at a clean end.
	err error
	// torn is the number of the final line when it was cut short.
	torn int
}

// parseNext reads the next line that is not blank and decodes it into op,
// without validating it against the ops before. It returns the line's
// number, or how the lines ran out.
func (r *Reader) parseNext(op *Op) (int, *end) {
	for {
		line, final, err := r.line()
		if err != nil {
			return 0, &end{err: err}
		}
		if line == nil {
			return 0, &end{}
		}
		r.lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := r.parser.parse(line, op); err != nil {
			var pe *parseError
			if final && errors.As(err, &pe) && (pe.end || bytes.IndexByte(line, 0) >= 0) {
				return 0, &end{torn: r.lineNo}
			}
			return 0, &end{err: &LineError{File: r.v.name, Line: r.lineNo, Msg: err.Error()}}
		}
		return r.lineNo, nil
	}
}

// finish turns how the lines ran out into Next's error, once every op
// before has been validated.
func (r *Reader) finish(e *end) error {
	switch {
	case e.err != nil:
		return e.err
	case e.torn > 0 && r.v.ops == 0:
		// Nothing before the torn line: no run's crash point, a file that
		// holds no operation.
		return &LineError{File: r.v.name, Line: e.torn, Msg: "no complete operation: the only line is cut short or holds NUL bytes"}
	case e.torn > 0:
		return &TruncatedError{File: r.v.name, Line: e.torn, Ops: r.v.ops}
	case r.v.ops == 0:
		return &LineError{File: r.v.name, Line: 1, Msg: "empty history: the file holds no operation"}
	}
	return io.EOF
}

// ReadAll reads the rest of the history.
func (r *Reader) ReadAll() (History, error) {
	var h History
	err := r.each(func(op *Op) {
		if len(h) == cap(h) {
			h = r.grow(h)
		}
		h = append(h, *op)
	})
	return h, err
}

// grow makes room for more ops. Once the first lines are read and the
// size of the input is known, it sizes the history for the whole input,
// so that a large history is not copied again and again as it grows.
func (r *Reader) grow(h History) History {
	n := 2*cap(h) + 64
	if r.sizeHint > 0 && len(h) >= 1024 {
		read := r.sizeHint
		if r.consumed > 0 {
			read = int64(float64(r.sizeHint) * float64(len(h)) / float64(r.consumed))
		}
		if est := int(read + read/32 + 64); est > cap(h) {
			n = est
		}
		r.sizeHint = 0 // estimate once; then grow as usual
	}
	out := make(History, len(h), n)
	copy(out, h)
	return out
}

// line returns the next line without its newline, and whether it was the
// final line and had no newline. It returns nil at the end of the input.
func (r *Reader) line() (line []byte, final bool, err error) {
	for {
		if i := bytes.IndexByte(r.buf[r.start:r.end], '\n'); i >= 0 {
			if i > maxLine {
				return nil, false, r.tooLong()
			}
			line = r.buf[r.start : r.start+i]
			r.start += i + 1
			r.total += int64(i + 1)
			return r.stripBOM(line), false, nil
		}
		if r.eof {
			if r.start == r.end {
				return nil, false, nil
			}
			if r.end-r.start > maxLine {
				return nil, false, r.tooLong()
			}
			line = r.buf[r.start:r.end]
			r.total += int64(len(line))
			r.start = r.end
			return r.stripBOM(line), true, nil
		}
		if r.end-r.start > maxLine {
			return nil, false, r.tooLong()
		}
		if err := r.fill(); err != nil {
			return nil, false, err
		}
	}
}

func (r *Reader) tooLong() error {
	return &LineError{File: r.v.name, Line: r.lineNo + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
}

// fill reads more input, moving what is left to the front of the buffer
// and growing it when a line does not fit.
func (r *Reader) fill() error {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if r.end == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := r.r.Read(r.buf[r.end:])
	r.end += n
	if n == 0 && err == nil {
		if r.empty++; r.empty > 100 {
			return fmt.Errorf("read %s: %w", r.v.name, io.ErrNoProgress)
		}
		return nil
	}
	r.empty = 0
	switch {
	case err == io.EOF:
		r.eof = true
	case err != nil:
		return fmt.Errorf("read %s: %w", r.v.name, err)
	}
	return nil
}

// stripBOM drops a UTF-8 byte order mark at the start of the input, which
// some editors write.
func (r *Reader) stripBOM(line []byte) []byte {
	if r.first {
		r.first = false
		return bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line
}
