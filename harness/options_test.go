package harness

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCheckOptionsRefusesWhatNothingReads(t *testing.T) {
	for opt := range optionOwners() {
		if err := CheckOptions(map[string]string{opt: "x"}); err != nil {
			t.Errorf("declared option %s refused: %v", opt, err)
		}
	}
	cases := []struct{ opt, want string }{
		{"pause.mod", "pause.mod: unknown option (options of pause: pause.duration, pause.mode)"},
		{"kill.duration", "kill.duration: unknown option (options of kill: kill.mode, kill.restart-delay)"},
		{"redis.persistance", "options of redis: redis.persistence"},
		{"bogus", "bogus: no target, workload or nemesis has this option (valid: client-pause.stall, "},
	}
	for _, c := range cases {
		err := CheckOptions(map[string]string{"pause.mode": "holder", c.opt: "1"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.opt, err, c.want)
		}
	}
}

func TestUnusedOptionsAreNoted(t *testing.T) {
	got := unusedOptions(map[string]string{"pause.mode": "holder", "kill.restart-delay": "3s", "redis.persistence": "aof", "inventory.stock": "9"},
		"redis", "mutex", []string{"pause"})
	want := []string{
		"Option inventory.stock is read by workload inventory, which this run does not use; it had no effect.",
		"Option kill.restart-delay is read by nemesis kill, which this run does not use; it had no effect.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// Every option name that the targets, workloads and nemeses spell out in
// their code is declared by OptionNames, so that CheckOptions does not
// refuse an option that is in fact read.
func TestEveryOptionReadInTheCodeIsDeclared(t *testing.T) {
	owners := optionOwners()
	prefixes := map[string]bool{}
	for opt := range owners {
		p, _, _ := strings.Cut(opt, ".")
		prefixes[p] = true
	}
	lit := regexp.MustCompile(`"([a-z][a-z-]*)\.([a-z][a-z-]*)"`)
	for _, dir := range []string{"../targets", "../workloads", "../nemesis"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				name := m[1] + "." + m[2]
				if _, ok := owners[name]; prefixes[m[1]] && !ok {
					t.Errorf("%s reads option %q, which no OptionNames declares", f, name)
				}
			}
		}
	}
}
