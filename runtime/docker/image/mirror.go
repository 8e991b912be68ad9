package image

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MirrorEnv is the environment variable that overrides the Debian mirror URL
// read from the host's apt configuration.
const MirrorEnv = "LOCKSTORM_DEBIAN_MIRROR"

// Suite is the Debian release the node image is built from.
const Suite = "bookworm"

// ErrNoMirror is returned when no Debian mirror can be found in the host's apt
// configuration and none was given.
var ErrNoMirror = errors.New("no debian mirror in the host apt configuration (set " + MirrorEnv + ")")

// Sources says where the image's Debian packages come from: the main mirror,
// whether it serves the -updates suite, and the security mirror, if any.
type Sources struct {
	// Mirror is the URL of the main Debian archive, e.g. "http://host/debian".
	Mirror string
	// Updates is true when the -updates suite is used next to the main one.
	Updates bool
	// Security is the URL of the security archive, or "" for none.
	Security string
}

// debianSuites are the release names and aliases that mark an apt source as
// Debian's own; any other source on the host (a vendor's repository) is ignored.
var debianSuites = map[string]bool{
	"buster": true, "bullseye": true, "bookworm": true, "trixie": true, "forky": true,
	"sid": true, "oldoldstable": true, "oldstable": true, "stable": true,
	"testing": true, "unstable": true,
}

// aptEntry is one apt source: a URI with the suites it serves.
type aptEntry struct {
	uri    string
	suites []string
}

// HostSources reads the Debian mirror from the host's apt configuration under
// root ("/" for the real host), with mirror (when not empty) or the
// LOCKSTORM_DEBIAN_MIRROR environment variable overriding the main mirror.
func HostSources(root, mirror string) (Sources, error) {
	if mirror == "" {
		mirror = os.Getenv(MirrorEnv)
	}
	var entries []aptEntry
	if data, err := os.ReadFile(filepath.Join(root, "etc/apt/sources.list")); err == nil {
		entries = append(entries, parseOneLine(string(data))...)
	}
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	names, _ := os.ReadDir(dir)
	files := make([]string, 0, len(names))
	for _, n := range names {
		files = append(files, n.Name())
	}
	sort.Strings(files)
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".sources"):
			entries = append(entries, parseDeb822(string(data))...)
		case strings.HasSuffix(name, ".list"):
			entries = append(entries, parseOneLine(string(data))...)
		}
	}
	src := sourcesFrom(entries)
	if mirror != "" {
		src.Mirror = strings.TrimRight(strings.TrimSpace(mirror), "/")
	}
	if src.Mirror == "" {
		return Sources{}, ErrNoMirror
	}
	return src, nil
}

// sourcesFrom picks the first Debian main mirror and security mirror.
func sourcesFrom(entries []aptEntry) Sources {
	var src Sources
	for _, e := range entries {
		for _, s := range e.suites {
			base, kind, _ := strings.Cut(s, "-")
			if i := strings.IndexByte(base, '/'); i >= 0 { // "buster/updates"
				base, kind = base[:i], "security"
			}
			if !debianSuites[base] {
				continue
			}
			uri := strings.TrimRight(e.uri, "/")
			switch kind {
			case "security":
				if src.Security == "" {
					src.Security = uri
				}
			case "updates":
				if src.Mirror == "" || src.Mirror == uri {
					src.Mirror = uri
					src.Updates = true
				}
			case "":
				if src.Mirror == "" {
					src.Mirror = uri
				}
			}
		}
	}
	return src
}

// parseOneLine reads sources.list lines: "deb [opts] URI SUITE COMPONENT...".
func parseOneLine(text string) []aptEntry {
	var out []aptEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		rest := fields[1:]
		if strings.HasPrefix(rest[0], "[") {
			for len(rest) > 0 && !strings.HasSuffix(rest[0], "]") {
				rest = rest[1:]
			}
			if len(rest) > 0 {
				rest = rest[1:]
			}
		}
		if len(rest) < 2 {
			continue
		}
		out = append(out, aptEntry{uri: rest[0], suites: []string{rest[1]}})
	}
	return out
}

// parseDeb822 reads the stanzas of a .sources file (Types, URIs, Suites, Enabled).
func parseDeb822(text string) []aptEntry {
	var out []aptEntry
	fields := map[string]string{}
	last := ""
	flush := func() {
		enabled := strings.ToLower(strings.TrimSpace(fields["enabled"]))
		if enabled != "no" && enabled != "false" && hasWord(fields["types"], "deb") {
			suites := strings.Fields(fields["suites"])
			for _, uri := range strings.Fields(fields["uris"]) {
				out = append(out, aptEntry{uri: uri, suites: suites})
			}
		}
		fields = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// Lines returns the apt source lines for the node image, one per suite.
func (s Sources) Lines() []string {
	lines := []string{fmt.Sprintf("deb %s %s main", s.Mirror, Suite)}
	if s.Updates {
		lines = append(lines, fmt.Sprintf("deb %s %s-updates main", s.Mirror, Suite))
	}
	if s.Security != "" {
		lines = append(lines, fmt.Sprintf("deb %s %s-security main", s.Security, Suite))
	}
	return lines
}

// SourcesList renders the sources.list file installed in the node image.
func (s Sources) SourcesList() string {
	return "# Written by lockstorm from the host's apt configuration.\n" +
		strings.Join(s.Lines(), "\n") + "\n"
}
