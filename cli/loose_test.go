package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An option whose owner is not in the run had no effect and was taken
// without a word; it is refused, naming the option and its owner.
func TestRunRefusesAnOptionOfAPartItDoesNotUse(t *testing.T) {
	cases := []struct {
		opt, want string
	}{
		{"kill.restart-delay=1s", "--opt kill.restart-delay: an option of nemesis kill, which the run does not use"},
		{"redis.persistence=aof", "--opt redis.persistence: an option of target redis, which the run does not use"},
	}
	for _, c := range cases {
		code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--opt", c.opt, "--store", t.TempDir(), "--quiet")
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("--opt %s: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", c.opt, code, c.want, out, errOut)
		}
	}
}

// A history that is only a torn line, or only NUL bytes, is bad input
// naming the file and the line, not a run that broke off; a torn last
// line after valid ones is still judged, as the crash point of a killed
// run.
func TestCheckRefusesAHistoryThatIsOnlyATornLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, body := range map[string]string{"torn.jsonl": `{"index":0,"time":0,"pro`, "nul.jsonl": "\x00\x00\x00\x00\x00\x00"} {
		p := write(name, body)
		code, out, errOut := lockstorm(t, "check", p)
		if code != exitUsage || !strings.Contains(errOut, p+":1: no complete operation") {
			t.Errorf("check %s: exit %d, want 3 naming the file and line\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
	}
	killed := write("killed.jsonl", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}
{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k"}
{"index":2,"time":2,"pro`)
	if code, out, errOut := lockstorm(t, "check", killed); code != exitUnknown || !strings.Contains(out, "broke off") {
		t.Errorf("check of a killed run's history: exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
