package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lockstorm/lockstorm/plan"
)

// Binary is where the lockstorm binary is seen in every client
// container: it runs each client process behind a TCP port (`lockstorm
// relay`), and is the client itself for ClientProcess.
const Binary = BinDir + "/lockstorm"

// Command works out the command of a plan's client and the host
// files it needs copied in: for ClientProcess, `lockstorm client`; for a
// user's command, every word that names a file or directory on this
// machine, copied into the containers and renamed in the command.
func Command(p *plan.Plan) (cmd []string, files []string, err error) {
	if p.Client == plan.ClientProcess {
		return []string{Binary, "client"}, nil, nil
	}
	words, err := SplitWords(p.Client)
	if err != nil {
		return nil, nil, err
	}
	for i, w := range words {
		if st, err := os.Stat(w); err == nil && (st.Mode().IsRegular() || st.IsDir()) && (i == 0 || strings.ContainsRune(w, '/') || strings.Contains(w, ".")) {
			files = append(files, w)
			words[i] = Dir + "/" + filepath.Base(filepath.Clean(w))
		}
	}
	if len(words) == 0 {
		return nil, nil, errors.New("empty client command")
	}
	return words, files, nil
}

// SplitWords splits a command line into words as a POSIX shell would for
// plain words, 'single' and "double" quotes and backslashes; it expands
// nothing.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for i := 0; i < len(s); i++ {
		ch := rune(s[i])
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				cur.WriteByte(s[i])
			}
		case quote == '"':
			switch {
			case ch == '"':
				quote = 0
			case ch == '\\' && i+1 < len(s) && strings.ContainsRune(`"\$`+"`", rune(s[i+1])):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(s[i])
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(s[i])
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
