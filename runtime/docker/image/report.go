package image

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// tailLines is how many of the last lines of the build's output the
// terminal gets when the build fails.
const tailLines = 15

// maxTailLine is the length, in characters, to which such a line is cut.
const maxTailLine = 160

// A report is what one build of the node image tells its user. The
// terminal (Options.Output) gets lockstorm's own lines only: what is built
// and where the full output goes, one line per step, how long the build
// took, and, if it fails, the last lines of the output. Everything the
// build prints (apt-get on the host, mmdebstrap, the docker build stream)
// goes to the log file, and with Options.Verbose to the terminal as well.
// A report is safe for concurrent use.
type report struct {
	mu      sync.Mutex
	term    io.Writer
	log     io.Writer
	file    *os.File // the log file that close closes; nil when log is not a file
	path    string
	verbose bool
	tail    []string // the last tailLines lines shown of the output, oldest first
	lines   lineSplitter
	start   time.Time
	now     func() time.Time
}

// newReport returns a report that writes lockstorm's lines to term and the
// build's output to log, a file at path; now is the clock that times the
// build.
func newReport(term, log io.Writer, path string, verbose bool, now func() time.Time) *report {
	r := &report{term: term, log: log, path: path, verbose: verbose, now: now, start: now()}
	r.lines.fn = r.keep
	return r
}

// startReport creates the build's log file (in opts.LogDir, else the
// user's cache directory) and says on the terminal what is built, that it
// takes minutes the first time, and where the full output goes.
func startReport(opts Options, tag string) (*report, error) {
	f, err := createLog(opts.LogDir, time.Now())
	if err != nil {
		return nil, err
	}
	r := newReport(opts.output(), f, f.Name(), opts.Verbose, time.Now)
	r.file = f
	r.begin(tag)
	return r, nil
}

// begin says what is built and where the full output goes.
func (r *report) begin(tag string) {
	r.say("image: building " + tag + " from Debian " + Suite + " packages; the first build takes minutes")
	r.say("image: full output in " + r.path)
}

// say writes one of lockstorm's own lines to the terminal, and to the log
// so that the log reads in the same steps.
func (r *report) say(line string) {
	line = plain(line)
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.term, line)
	fmt.Fprintln(r.log, "==> "+line)
}

// installOnHost says, before it happens, that a package is installed on
// this host with apt-get, and what for.
func (r *report) installOnHost(pkg, why string) {
	r.say("image: installing " + pkg + " on this host with apt-get (needed to " + why + ")")
}

// baseStep says that step n of bootstrapping the base image begins.
func (r *report) baseStep(n int) { r.say(baseStepLine(n)) }

// output returns the writer for what the build prints: the log file,
// the tail kept for a failure, and with verbose the terminal.
func (r *report) output() io.Writer { return rawWriter{r} }

// buildOutput returns the writer for the text of the docker build stream
// (copyMessages): output, plus a progress line per RUN step.
func (r *report) buildOutput() io.Writer {
	steps := &nodeSteps{emit: r.say}
	return io.MultiWriter(r.output(), &lineSplitter{fn: steps.line})
}

// mmdebstrapOutput returns the writer for mmdebstrap's output: output,
// plus the progress line of the base image step it starts.
func (r *report) mmdebstrapOutput() io.Writer {
	return io.MultiWriter(r.output(), &lineSplitter{fn: func(line string) {
		if s, ok := mmdebstrapStep(line); ok {
			r.say(s)
		}
	}})
}

// rawWriter is report.output.
type rawWriter struct{ r *report }

func (w rawWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	if w.r.verbose {
		_, _ = w.r.term.Write(p)
	}
	_, _ = w.r.lines.Write(p)
	return w.r.log.Write(p)
}

// keep adds one line of output to the tail, as a terminal would show it.
func (r *report) keep(line string) {
	line = shown(line)
	if strings.TrimSpace(line) == "" {
		return
	}
	r.tail = append(r.tail, cut(line, maxTailLine))
	if len(r.tail) > tailLines {
		r.tail = r.tail[len(r.tail)-tailLines:]
	}
}

// finish says how the build ended: how long it took, or, when err is not
// nil, the last lines of its output and where the rest is. err itself is
// the caller's to report.
func (r *report) finish(tag string, err error) {
	took := r.now().Sub(r.start).Round(time.Second)
	if err == nil {
		r.say("image: built " + tag + " in " + took.String())
		return
	}
	r.mu.Lock()
	r.lines.flush()
	tail := r.tail
	r.mu.Unlock()
	if r.verbose {
		tail = nil // it is on the terminal already
	}
	if len(tail) > 0 {
		r.say("image: the build failed after " + took.String() + "; the last lines of its output:")
		r.mu.Lock()
		for _, line := range tail {
			fmt.Fprintln(r.term, "  "+line)
		}
		r.mu.Unlock()
	} else {
		r.say("image: the build failed after " + took.String())
	}
	r.say("image: full output in " + r.path)
}

// interrupted says that the build was broken off (Ctrl-C), and where its
// output so far is.
func (r *report) interrupted() {
	r.say("image: the build was interrupted after " + r.now().Sub(r.start).Round(time.Second).String() +
		"; its output so far is in " + r.path)
}

// close closes the log file.
func (r *report) close() error {
	if r.file == nil {
		return nil
	}
	return r.file.Close()
}

// createLog creates the log file of a build that starts at now, named
// image-build-<local time>.log, in dir, or when dir is "" in the
// lockstorm directory of the user's cache directory (~/.cache/lockstorm),
// made 0700. Where that cannot be made, it goes in a new private
// directory under the temporary directory.
func createLog(dir string, now time.Time) (*os.File, error) {
	if dir != "" {
		return createLogIn(dir, now)
	}
	cache, err := os.UserCacheDir()
	if err == nil {
		f, err2 := createLogIn(filepath.Join(cache, "lockstorm"), now)
		if err2 == nil {
			return f, nil
		}
		err = err2
	}
	tmp, err2 := os.MkdirTemp("", "lockstorm-image-build-")
	if err2 != nil {
		return nil, fmt.Errorf("create build log: %w", errors.Join(err, err2))
	}
	return createLogIn(tmp, now)
}

// createLogIn creates the log file in dir, with a suffix when a build of
// the same second has the name already.
func createLogIn(dir string, now time.Time) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create build log: %w", err)
	}
	stamp := "image-build-" + now.Format("20060102-150405")
	f, err := os.OpenFile(filepath.Join(dir, stamp+".log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		f, err = os.CreateTemp(dir, stamp+"-*.log")
	}
	if err != nil {
		return nil, fmt.Errorf("create build log: %w", err)
	}
	return f, nil
}
