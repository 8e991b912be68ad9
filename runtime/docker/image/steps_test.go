package image

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Each RUN step of the docker build stream gives one progress line, cut
// at a word to fit a terminal line, that names the packages a step
// installs; the other steps take no time and give none.
func TestNodeStepsGiveOneLinePerRunStep(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Step 5/24 : RUN rm -f /etc/apt/sources.list.d/*  && apt-get update  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev  && rm -rf /var/lib/apt/lists/*",
			"image: node, step 5 of 24: RUN apt-get install gcc libc6-dev"},
		{"Step 13/24 : RUN apt-get update  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends       mariadb-server mariadb-client memcached nats-server  && apt-get clean",
			"image: node, step 13 of 24: RUN apt-get install mariadb-server..."},
		// Two installs, a .deb file among the packages: every package, cut.
		{"Step 12/24 : RUN apt-get install -y a-pkg /tmp/stub.deb && apt-get install -y zookeeper",
			"image: node, step 12 of 24: RUN apt-get install a-pkg zookeeper"},
		// An install from a file names no package: the command, cut.
		{"Step 16/24 : RUN if [ -s /tmp/extra-packages ]; then       apt-get update       && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/extra-packages apt-get install -y --no-install-recommends",
			"image: node, step 16 of 24: RUN if [ -s /tmp/extra-packages ]; then apt-get..."},
		{"Step 7/24 : RUN mkdir -p /out && gcc -O2 -o /out/clockshim.so /src/clockshim.c",
			"image: node, step 7 of 24: RUN mkdir -p /out && gcc -O2 -o /out/clockshim.so..."},
		{"Step 6/24 : COPY clockshim.c lockstorm-clock.c /src/", ""},
		{"Step 23/24 : LABEL lockstorm.hash=b3a0ed9517be", ""},
		{"Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]", ""},
	} {
		var got []string
		s := nodeSteps{emit: func(l string) { got = append(got, l) }}
		s.line(c.in)
		s.line(" ---> Running in c851fb1f973f")
		want := []string{}
		if c.want != "" {
			want = append(want, c.want)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q\n gave %q\n want %q", c.in, got, want)
		}
		for _, l := range got {
			if n := utf8.RuneCountInString(l); n > maxStepLine {
				t.Errorf("%q is %d characters, more than %d", l, n, maxStepLine)
			}
		}
	}
}

// A RUN step that the builder takes from its layer cache shows no line.
func TestNodeStepsLeaveOutCachedSteps(t *testing.T) {
	var got []string
	s := nodeSteps{emit: func(l string) { got = append(got, l) }}
	for _, l := range []string{
		"Step 5/6 : RUN apt-get install -y jq", " ---> Using cache", " ---> 064e0480747b",
		"Step 6/6 : RUN apt-get install -y curl", " ---> Running in 03d433911c02", "Get:1 http://x bookworm InRelease",
	} {
		s.line(l)
	}
	if len(got) != 1 || got[0] != "image: node, step 6 of 6: RUN apt-get install curl" {
		t.Errorf("lines %q, want only step 6's", got)
	}
}

// A line of output is kept as a terminal would leave it on screen: after
// the last carriage return that redraws it, with no escape sequences or
// other control characters.
func TestShownIsWhatATerminalLeavesOfALine(t *testing.T) {
	for in, want := range map[string]string{
		"Selecting previously unselected package mmdebstrap.\r":                          "Selecting previously unselected package mmdebstrap.",
		"(Reading database ... \r(Reading database ... 5%\r(Reading database ... 100%\r": "(Reading database ... 100%",
		"\x1b[91mdebconf: delaying package configuration\x1b[0m":                         "debconf: delaying package configuration",
		"\x1b[0mFetched 53.6 MB in 1s (69.1 MB/s)":                                       "Fetched 53.6 MB in 1s (69.1 MB/s)",
		"tab\there, bell\a, nul\x00":                                                     "tab here, bell , nul ",
		"plain":                                                                          "plain",
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %q, want %q", in, got, want)
		}
	}
}

// Lines come out whole however the writes cut them.
func TestLineSplitterJoinsLinesAcrossWrites(t *testing.T) {
	var got []string
	s := lineSplitter{fn: func(l string) { got = append(got, l) }}
	for _, w := range []string{"Step 1/2 : A", "RG X\nfirst", " half\nsecond\nthi", "rd"} {
		s.Write([]byte(w))
	}
	s.flush()
	if want := "Step 1/2 : ARG X|first half|second|third"; strings.Join(got, "|") != want {
		t.Errorf("lines %q, want %q", strings.Join(got, "|"), want)
	}
}

// mmdebstrap's move from downloading to installing starts base step 2.
func TestMmdebstrapStepTwoStartsWithExtracting(t *testing.T) {
	if l, ok := mmdebstrapStep("I: extracting archives..."); !ok || l != baseStepLine(2) {
		t.Errorf("extracting gave %q, %v", l, ok)
	}
	for _, l := range []string{"I: downloading packages with apt...", "I: success in 34.0465 seconds", ""} {
		if s, ok := mmdebstrapStep(l); ok {
			t.Errorf("%q gave a step line %q", l, s)
		}
	}
}
