package all_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/targets/all"
)

// docs/protocol.md's "Port roles" table names, for every target, the port
// roles its servers offer and their ports, as the service describes them:
// a client written from the document alone connects to the right port.
func TestProtocolDocNamesEveryTargetsPortRoles(t *testing.T) {
	b, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n### Port roles\n")
	if !ok {
		t.Fatal(`docs/protocol.md has no "### Port roles" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n#")
	name := regexp.MustCompile("`([a-z-]+)`")
	role := regexp.MustCompile("`([a-z]+)` \\((\\d+)\\)")
	rows := map[string]map[string]int{} // target -> role -> port
	for _, line := range strings.Split(sec, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "|") {
			continue
		}
		ports := map[string]int{}
		for _, m := range role.FindAllStringSubmatch(cells[2], -1) {
			ports[m[1]], _ = strconv.Atoi(m[2])
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = ports
		}
	}
	for _, newService := range all.Services() {
		s := newService()
		doc, ok := rows[s.Name()]
		if !ok {
			t.Errorf("docs/protocol.md's port roles table has no row for %s", s.Name())
			continue
		}
		want := s.Describe().Ports
		if len(doc) != len(want) {
			t.Errorf("docs/protocol.md gives %s the ports %v; the service describes %v", s.Name(), doc, want)
			continue
		}
		for r, p := range want {
			if doc[r] != p {
				t.Errorf("docs/protocol.md gives %s the ports %v; the service describes %v", s.Name(), doc, want)
				break
			}
		}
	}
}
