package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/plan"
)

// scriptExts are the endings of a script that an interpreter in the
// client container runs: the word after the interpreter that ends so
// names a file on this machine, copied in.
var scriptExts = []string{".py", ".rb", ".js", ".mjs", ".sh", ".pl", ".php", ".lua", ".jar", ".tcl"}

// codeFlags are the flags of an interpreter after which the next word is
// code or a module, not a file.
var codeFlags = []string{"-c", "-m", "-e", "-E", "--eval", "-r"}

// Check refuses, before anything starts, a protocol client (a plan whose
// Client is a command) whose program is missing on this machine or is not
// executable, or whose script, given to an interpreter of the client
// container ("python3 my/lock.py"), is missing: such a client failed only
// once the cluster had started. The program is the first word, when it
// names a path (it holds a '/') or a file in the current directory; any
// other first word is a program of the client container. The error is a
// *plan.FieldError that names the client.
func Check(p plan.Plan) error {
	if p.Client == "" || p.Client == plan.ClientGo || p.Client == plan.ClientProcess {
		return nil
	}
	name := p.Client
	if strings.ContainsAny(name, " \t'\"") {
		name = fmt.Sprintf("%q", name)
	}
	bad := func(format string, args ...any) error {
		return &plan.FieldError{Field: "client", Msg: name + ": " + fmt.Sprintf(format, args...)}
	}
	words, err := SplitWords(p.Client)
	if err != nil || len(words) == 0 {
		return nil // Resolve says what is wrong with the command itself
	}
	prog := words[0]
	if _, err := os.Lstat(prog); err == nil || strings.ContainsRune(prog, '/') {
		st, err := os.Stat(prog)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return bad("the program %s does not exist on this machine%s", prog, dangling(prog))
		case err != nil:
			return bad("the program %s: %v", prog, err)
		case st.IsDir():
			return bad("the program %s is a directory", prog)
		case st.Mode()&0o111 == 0:
			return bad("the program %s is not executable (chmod +x it, or name its interpreter, as in \"python3 %s\")", prog, prog)
		}
		return nil
	}
	for _, w := range words[1:] {
		if slices.Contains(codeFlags, w) {
			return nil
		}
		if strings.HasPrefix(w, "-") {
			continue
		}
		if strings.ContainsRune(w, '/') || slices.Contains(scriptExts, strings.ToLower(filepath.Ext(w))) {
			if _, err := os.Stat(w); err != nil {
				return bad("the script %s does not exist on this machine%s", w, dangling(w))
			}
		}
		return nil
	}
	return nil
}

// dangling says ", a symbolic link to T, which does not exist" of a path
// that is such a link, and nothing of any other.
func dangling(path string) string {
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return ""
	}
	t, _ := os.Readlink(path)
	return fmt.Sprintf(" (it is a symbolic link to %s, which does not exist)", t)
}
