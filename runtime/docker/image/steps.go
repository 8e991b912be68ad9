package image

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file turns what a build prints (apt-get, mmdebstrap, the docker
// build stream) into lockstorm's own progress lines. It does no I/O: the
// functions and writers here take text and call back with lines, so that
// recorded output can be replayed in tests.

// maxStepLine is the length, in characters, to which a progress line is
// cut, so that it fits on one line of a terminal.
const maxStepLine = 80

// baseSteps is the number of steps of bootstrapping the base image:
// mmdebstrap downloads, then installs, then docker import loads it.
const baseSteps = 3

// baseStepText says what each step of bootstrapping the base image does.
var baseStepText = [baseSteps + 1]string{
	1: "downloading Debian " + Suite + " packages with mmdebstrap",
	2: "installing them into a minimal root file system",
	3: "importing it into Docker as " + BaseTag,
}

// lineSplitter is an io.Writer that calls fn with every complete line
// written to it, without its newline. A last line without a newline is
// passed on by flush.
type lineSplitter struct {
	fn  func(line string)
	buf []byte
}

func (s *lineSplitter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.fn(string(s.buf[:i]))
		s.buf = s.buf[i+1:]
	}
	return len(p), nil
}

// flush passes on what is left after the last newline, if anything.
func (s *lineSplitter) flush() {
	if len(s.buf) > 0 {
		s.fn(string(s.buf))
		s.buf = nil
	}
}

// escapeSequence matches a terminal escape sequence, such as the colour
// that the classic builder puts around what a RUN step writes to stderr.
var escapeSequence = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])`)

// shown returns what a terminal would leave on screen of one line of
// output: the text after its last carriage return that is followed by
// something (apt and dpkg redraw "Reading database ... 45%" in place),
// without escape sequences, and with every other control character made
// a space.
func shown(line string) string {
	line = strings.TrimRight(line, "\r")
	if i := strings.LastIndexByte(line, '\r'); i >= 0 {
		line = line[i+1:]
	}
	return plain(escapeSequence.ReplaceAllString(line, ""))
}

// plain returns s with every control character (carriage return, newline,
// escape, ...) replaced by a space, so that it is one line and cannot
// drive a terminal.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
}

// cut returns s cut to at most n characters, at the end of a word where
// one ends in its second half, "..." marking a cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	t := string([]rune(s)[:n-3])
	if i := strings.LastIndexByte(t, ' '); i > len(t)/2 {
		t = t[:i]
	}
	return t + "..."
}

// stepPattern matches the classic builder's step lines: "Step 5/24 : RUN ...".
var stepPattern = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)

// dockerStep parses a step line of the build stream into the step's
// number, the number of steps, and its instruction.
func dockerStep(line string) (n, of int, instruction string, ok bool) {
	m := stepPattern.FindStringSubmatch(strings.TrimRight(line, "\r"))
	if m == nil {
		return 0, 0, "", false
	}
	n, _ = strconv.Atoi(m[1])
	of, _ = strconv.Atoi(m[2])
	return n, of, m[3], true
}

// nodeStepLine is the progress line of Dockerfile step n of of.
func nodeStepLine(n, of int, instruction string) string {
	head := "image: node, step " + strconv.Itoa(n) + " of " + strconv.Itoa(of) + ": "
	return head + cut(summary(instruction), maxStepLine-utf8.RuneCountInString(head))
}

// baseStepLine is the progress line of base image step n (of baseSteps).
func baseStepLine(n int) string {
	return cut("image: base, step "+strconv.Itoa(n)+" of "+strconv.Itoa(baseSteps)+": "+baseStepText[n], maxStepLine)
}

// summary shortens a Dockerfile instruction for a progress line: its
// words on one line, and for a RUN that installs Debian packages, the
// packages it installs.
func summary(instruction string) string {
	words := strings.Fields(plain(instruction))
	if len(words) > 0 && words[0] == "RUN" {
		if pkgs := aptPackages(words); len(pkgs) > 0 {
			return "RUN apt-get install " + strings.Join(pkgs, " ")
		}
	}
	return strings.Join(words, " ")
}

// aptPackages returns the package names that the "apt-get install"
// commands among words install: the words after "install" up to the end
// of the command, without options and .deb files.
func aptPackages(words []string) []string {
	var pkgs []string
	for i := 1; i < len(words); i++ {
		if words[i] != "install" || words[i-1] != "apt-get" {
			continue
		}
		for _, w := range words[i+1:] {
			if strings.HasPrefix(w, "-") || strings.Contains(w, "/") {
				continue
			}
			name := strings.TrimSuffix(w, ";")
			if !packageName.MatchString(name) {
				break
			}
			pkgs = append(pkgs, name)
			if name != w {
				break
			}
		}
	}
	return pkgs
}

// nodeSteps turns the lines of a classic docker build's output into
// progress lines: one for each RUN step, the steps that take the time,
// unless the builder's next line says it came from the layer cache (a
// cached step takes no time, and a rebuild then shows only what it
// builds). Other steps (COPY, ENV, LABEL) take no time and are left out.
type nodeSteps struct {
	emit    func(line string)
	pending string // the line of a RUN step not yet known to be built
}

// line takes one line of the build's output.
func (s *nodeSteps) line(text string) {
	if n, of, instruction, ok := dockerStep(text); ok {
		s.pending = ""
		if strings.HasPrefix(instruction, "RUN ") {
			s.pending = nodeStepLine(n, of, instruction)
		}
		return
	}
	if s.pending == "" {
		return
	}
	if !strings.Contains(text, "Using cache") {
		s.emit(s.pending)
	}
	s.pending = ""
}

// mmdebstrapInstalling is the start of the line with which mmdebstrap
// moves from downloading packages to unpacking and installing them.
const mmdebstrapInstalling = "I: extracting archives"

// mmdebstrapStep returns the progress line that a line of mmdebstrap's
// output starts, if it starts one.
func mmdebstrapStep(line string) (string, bool) {
	if strings.HasPrefix(line, mmdebstrapInstalling) {
		return baseStepLine(2), true
	}
	return "", false
}
