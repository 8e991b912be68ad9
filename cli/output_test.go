package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/campaign"
	"github.com/lockstorm/lockstorm/internal/printable"
)

// spoof would colour the terminal, ring its bell and reverse the text
// after it, were it printed raw.
const spoof = "k\x1b[31m\a\u202egpj"

func assertNoRawControls(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range []string{"\x1b", "\a", "\u202e"} {
		if strings.Contains(s, r) {
			t.Errorf("%s carries a raw %q: %q", what, r, s)
		}
	}
}

func TestVerdictsAndErrorsReachTheTerminalNeutralised(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.jsonl")
	// Two processes hold the key at once: the verdict names the key.
	hist := strings.ReplaceAll(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"KEY"}
{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"KEY"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"acquire","key":"KEY"}
{"index":3,"time":3,"process":1,"type":"ok","f":"acquire","key":"KEY"}
`, "KEY", `k\u001b[31m\u0007\u202egpj`)
	if err := os.WriteFile(path, []byte(hist), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := lockstorm(t, "check", path)
	if code != exitInvalid {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	assertNoRawControls(t, "check's verdict", out)
	if !strings.Contains(out, `k\x1b[31m\x07\u202egpj`) {
		t.Errorf("the verdict does not show the key as its escape:\n%s", out)
	}
	missing := filepath.Join(dir, "x"+spoof+".jsonl")
	code, _, errOut = lockstorm(t, "check", missing)
	if code != exitUsage || !strings.Contains(errOut, printable.String(missing)) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	assertNoRawControls(t, "the error line", errOut)
}

// The progress bar writes its own escapes, to the terminal under the
// neutralising writer; the names it shows are neutralised instead.
func TestProgressBarWritesRawButShowsNeutralisedNames(t *testing.T) {
	var term bytes.Buffer
	w := printable.NewWriter(&term)
	if rawWriter(w) != &term || rawWriter(&term) != &term {
		t.Error("rawWriter does not find the writer under a neutralising one")
	}
	if !isTerminal(printable.NewWriter(os.Stderr)) && isTerminal(os.Stderr) {
		t.Error("a terminal behind a neutralising writer is not seen as one")
	}
	b := newBarProgress(w)
	b.Start(1)
	b.CellStart(campaign.Cell{Name: spoof}, 1, 1)
	b.Phase(campaign.Cell{Name: spoof}, "phase"+spoof)
	assertNoRawControls(t, "the bar's cell", b.current)
	assertNoRawControls(t, "the bar's phase", b.phase)
	b.Finish()
}
