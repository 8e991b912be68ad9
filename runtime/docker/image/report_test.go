package image

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/cold-build/terminal.txt from the replayed transcript")

// The tag of the recorded cold build.
const recordedTag = "lockstorm-node:b3a0ed9517be"

// fakeHost leaves on PATH only a directory with a fake apt-get, which
// prints the recorded output of installing mmdebstrap on a host and then
// provides a fake mmdebstrap. No real apt-get can run.
func fakeHost(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"/bin/sh", "/bin/cat", "/bin/chmod"} {
		if _, err := os.Stat(tool); err != nil {
			t.Skipf("the fake apt-get needs %s", tool)
		}
	}
	dir := t.TempDir()
	transcript, err := filepath.Abs("testdata/cold-build/apt-get.txt")
	if err != nil {
		t.Fatal(err)
	}
	// It keeps its arguments in dir/args, and installs only when one of
	// them is "install" (apt-get's options may come first).
	script := "#!/bin/sh\necho \"$*\" >> '" + dir + "/args'\ncase \" $* \" in *' install '*) ;; *) exit 0 ;; esac\n/bin/cat '" + transcript + "'\n" +
		"printf '#!/bin/sh\\nexit 0\\n' > '" + dir + "/mmdebstrap'\n/bin/chmod 755 '" + dir + "/mmdebstrap'\n"
	if err := os.WriteFile(filepath.Join(dir, "apt-get"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	return dir
}

// clock returns a clock that reads start, then start+took.
func clock(start time.Time, took time.Duration) func() time.Time {
	calls := 0
	return func() time.Time {
		calls++
		if calls == 1 {
			return start
		}
		return start.Add(took)
	}
}

// replayColdBuild sends the recorded output of a cold build through rep
// in the order Ensure makes it: mmdebstrap installed on the host, the base
// image bootstrapped and imported, then the node image built. It returns
// the build stream's error.
func replayColdBuild(t *testing.T, rep *report, stream string) error {
	t.Helper()
	if err := ensureMmdebstrap(context.Background(), Options{}, rep); err != nil {
		t.Fatalf("ensureMmdebstrap with the fake apt-get: %v", err)
	}
	rep.baseStep(1)
	mm, err := os.ReadFile("testdata/cold-build/mmdebstrap.txt")
	if err != nil {
		t.Fatal(err)
	}
	rep.mmdebstrapOutput().Write(mm)
	rep.baseStep(3)
	f, err := os.Open(stream)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return copyMessages(f, rep.buildOutput())
}

// terminalLines checks what a build put on the terminal: whole lines, no
// carriage return and no escape sequence, at most 20 of them; and returns
// them.
func terminalLines(t *testing.T, term string) []string {
	t.Helper()
	if strings.ContainsAny(term, "\r\x1b") {
		t.Errorf("a carriage return or an escape reached the terminal:\n%q", term)
	}
	if !strings.HasSuffix(term, "\n") {
		t.Errorf("the terminal output does not end a line: %q", term)
	}
	lines := strings.Split(strings.TrimSuffix(term, "\n"), "\n")
	if len(lines) > 20 {
		t.Errorf("%d lines on the terminal, want at most 20:\n%s", len(lines), term)
	}
	return lines
}

// A whole recorded cold build (mmdebstrap installed on the host, the base
// bootstrapped, the 24 Dockerfile steps) shows at most 20 lines of
// lockstorm's own, with no carriage return, as recorded in
// testdata/cold-build/terminal.txt; everything the build printed goes
// to the log, as it was.
func TestColdBuildTranscriptShowsAFewLinesAndLogsTheRest(t *testing.T) {
	fakeHost(t)
	var term, log bytes.Buffer
	rep := newReport(&term, &log, "/home/u/.cache/lockstorm/image-build-20261206-211100.log", false,
		clock(time.Date(2026, 12, 6, 21, 11, 0, 0, time.UTC), 7*time.Minute+38*time.Second))
	rep.begin(recordedTag)
	if err := replayColdBuild(t, rep, "testdata/cold-build/build.jsonl"); err != nil {
		t.Fatalf("the recorded stream gave an error: %v", err)
	}
	rep.finish(recordedTag, nil)
	lines := terminalLines(t, term.String())
	t.Logf("terminal (%d lines):\n%s", len(lines), term.String())
	golden := "testdata/cold-build/terminal.txt"
	if *update {
		if err := os.WriteFile(golden, term.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if term.String() != string(want) {
		t.Errorf("the terminal differs from %s (go test -run %s -update rewrites it):\n%s", golden, t.Name(), term.String())
	}
	for _, f := range []string{"apt-get.txt", "mmdebstrap.txt"} {
		raw, err := os.ReadFile(filepath.Join("testdata/cold-build", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(log.Bytes(), raw) {
			t.Errorf("the log lacks the output of %s", f)
		}
	}
	for _, want := range []string{"Setting up liblsan0:amd64 (12.2.0-14+deb12u1) ...\r\n",
		"Step 19/24 : ENV PATH=", "Successfully tagged lockstorm-node:latest\n", "==> image: node, step 5 of 24"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

// A failed build shows the last lines of its output, made fit for a
// terminal, the daemon's error among them, and where the log is.
func TestFailedBuildShowsTheLastLinesAndTheLog(t *testing.T) {
	var term, log bytes.Buffer
	rep := newReport(&term, &log, "/tmp/image-build.log", false, clock(time.Now(), time.Minute))
	rep.begin(recordedTag)
	f, err := os.Open("testdata/failed-build.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = copyMessages(f, rep.buildOutput())
	if err == nil || !strings.Contains(err.Error(), "returned a non-zero code: 100") {
		t.Fatalf("copyMessages: %v, want the daemon's error", err)
	}
	rep.finish(recordedTag, err)
	lines := terminalLines(t, term.String())
	t.Logf("terminal:\n%s", term.String())
	tail := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "  ") {
			tail++
		}
	}
	if tail != tailLines {
		t.Errorf("%d lines of the output on the terminal, want the last %d", tail, tailLines)
	}
	for _, want := range []string{
		"image: node, step 5 of 24: RUN apt-get install gcc libc6-dev\n",
		"image: the build failed after 1m0s; the last lines of its output:\n",
		"  E: Unable to locate package libc6-dev\n",
		"  error: The command '/bin/sh -c rm -f",
		"image: full output in /tmp/image-build.log\n",
	} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("the terminal lacks %q", want)
		}
	}
	if !strings.HasSuffix(term.String(), "image: full output in /tmp/image-build.log\n") {
		t.Error("the log's path is not the last line")
	}
}

// With verbose, the terminal gets the build's full output as well as
// lockstorm's lines.
func TestVerboseStreamsTheFullOutputToTheTerminal(t *testing.T) {
	var term bytes.Buffer
	rep := newReport(&term, io.Discard, "/tmp/image-build.log", true, time.Now)
	f, err := os.Open("testdata/cold-build/build.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := copyMessages(f, rep.buildOutput()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\n",
		"Step 6/24 : COPY clockshim.c lockstorm-clock.c /src/\n", "image: node, step 5 of 24: RUN apt-get install gcc libc6-dev\n"} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("the verbose terminal lacks %q", want)
		}
	}
}

// The log goes in the lockstorm directory of the user's cache directory,
// which only the user can enter, in a file only the user can read; two
// builds in one second get two files; with no cache directory it goes in
// a new private directory under the temporary directory.
func TestBuildLogIsPrivateAndInTheUsersCacheDirectory(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	now := time.Date(2026, 12, 6, 21, 11, 0, 0, time.Local)
	a, err := createLog("", now)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if want := filepath.Join(cache, "lockstorm", "image-build-20261206-211100.log"); a.Name() != want {
		t.Errorf("log at %s, want %s", a.Name(), want)
	}
	b, err := createLog("", now)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() == a.Name() || filepath.Dir(b.Name()) != filepath.Dir(a.Name()) {
		t.Errorf("the second log of the second is %s, beside %s", b.Name(), a.Name())
	}
	for path, want := range map[string]os.FileMode{filepath.Dir(a.Name()): 0o700, a.Name(): 0o600, b.Name(): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c, err := createLog("", now)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.HasPrefix(c.Name(), tmp+string(filepath.Separator)) {
		t.Errorf("with no cache directory the log is at %s, not under %s", c.Name(), tmp)
	}
	if fi, err := os.Stat(filepath.Dir(c.Name())); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the fallback directory is not private: %v", err)
	}
}

// Installing mmdebstrap on the host is said in one line before it
// happens; apt-get's output goes to the log only.
func TestInstallingMmdebstrapIsOneLineAndItsOutputGoesToTheLog(t *testing.T) {
	dir := fakeHost(t)
	var term, log bytes.Buffer
	rep := newReport(&term, &log, "/tmp/image-build.log", false, time.Now)
	if err := ensureMmdebstrap(context.Background(), Options{}, rep); err != nil {
		t.Fatal(err)
	}
	if want := "image: installing mmdebstrap on this host with apt-get (needed to bootstrap the Debian base image)\n"; term.String() != want {
		t.Errorf("terminal %q, want %q", term.String(), want)
	}
	if i, j := strings.Index(log.String(), "==> image: installing mmdebstrap"), strings.Index(log.String(), "Setting up mmdebstrap"); i < 0 || j < i {
		t.Errorf("the log does not say it installs before apt-get's output (%d, %d):\n%s", i, j, log.String())
	}
	// apt-get waits for dpkg's lock rather than failing when another
	// apt-get holds it.
	if args, err := os.ReadFile(filepath.Join(dir, "args")); err != nil || !strings.Contains(string(args), "-o "+dpkgLockWait+" install") {
		t.Errorf("apt-get was called with %q (%v), without -o %s", args, err, dpkgLockWait)
	}
	// With mmdebstrap there, nothing is installed or said.
	term.Reset()
	if err := ensureMmdebstrap(context.Background(), Options{}, rep); err != nil || term.Len() > 0 {
		t.Errorf("a second call said %q (%v)", term.String(), err)
	}
}

// A build broken off by Ctrl-C says so in one line, with where its output
// so far is, and no tail.
func TestInterruptedBuildSaysSoInOneLine(t *testing.T) {
	var term bytes.Buffer
	rep := newReport(&term, io.Discard, "/tmp/image-build.log", false, clock(time.Now(), 90*time.Second))
	rep.output().Write([]byte("Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\n"))
	rep.interrupted()
	if want := "image: the build was interrupted after 1m30s; its output so far is in /tmp/image-build.log\n"; term.String() != want {
		t.Errorf("terminal %q, want %q", term.String(), want)
	}
}
