package process

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
)

func TestSplitWordsIsAShellWithoutExpansion(t *testing.T) {
	cases := map[string][]string{
		`./mylock.py`:                  {"./mylock.py"},
		`python3  -u  lock.py --ttl 2`: {"python3", "-u", "lock.py", "--ttl", "2"},
		`sh -c 'echo "a b"; exit 3'`:   {"sh", "-c", `echo "a b"; exit 3`},
		`node "my lock.js" \$HOME`:     {"node", "my lock.js", "$HOME"},
		`a"b c"d ''`:                   {"ab cd", ""},
		`java -jar lock.jar --name=é`:  {"java", "-jar", "lock.jar", "--name=é"},
		`x "say \"hi\"" 'it''s'`:       {"x", `say "hi"`, "its"},
	}
	for in, want := range cases {
		got, err := SplitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := SplitWords(`python3 'lock.py`); err == nil {
		t.Error("an unclosed quote was accepted")
	}
}

// The files a client command names on this machine are copied into the
// client containers, and the command names them there; other words stay.
func TestClientCommandCopiesTheFilesItNames(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "mylock.py")
	if err := os.WriteFile(script, []byte("#!/usr/bin/env python3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{Client: "python3 -u " + script + " --key lock"}
	cmd, files, err := Command(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"python3", "-u", Dir + "/mylock.py", "--key", "lock"}; !reflect.DeepEqual(cmd, want) {
		t.Errorf("command %q, want %q", cmd, want)
	}
	if !reflect.DeepEqual(files, []string{script}) {
		t.Errorf("files %q", files)
	}
	p.Client = plan.ClientProcess
	cmd, files, err = Command(p)
	if err != nil || !reflect.DeepEqual(cmd, []string{Binary, "client"}) || len(files) != 0 {
		t.Errorf("process client: %q %q %v", cmd, files, err)
	}
}
