package protocol

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
)

// docs/protocol.md's init table lists every field of the init request,
// and only those: a client written from the document reads what the
// harness sends.
func TestProtocolDocListsEveryInitField(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n### init\n")
	if !ok {
		t.Fatal(`docs/protocol.md has no "### init" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n#")
	field := regexp.MustCompile("^\\| `([a-z_]+)`")
	doc := map[string]bool{}
	for _, line := range strings.Split(sec, "\n") {
		if m := field.FindStringSubmatch(line); m != nil {
			doc[m[1]] = true
		}
	}
	code := map[string]bool{"id": true}
	ty := reflect.TypeOf(Init{})
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		code[name] = true
	}
	for f := range code {
		if !doc[f] {
			t.Errorf("the init request has %q, which docs/protocol.md's init table does not list", f)
		}
	}
	for f := range doc {
		if !code[f] {
			t.Errorf("docs/protocol.md's init table lists %q, which the init request does not have", f)
		}
	}
}

// The init request of a run with no --opt has no options field at all, as
// docs/protocol.md says; with settings it carries them as strings.
func TestInitOmitsOptionsWithoutOpt(t *testing.T) {
	p := plan.Default()
	p.Target = "redis"
	p.Nodes = []plan.Node{{Name: "n1", IP: "10.0.0.1", Ports: map[string]int{"redis": 6379}}}
	in := InitFor(&p, []string{"lock-0"}, 1, "n1")
	b, err := json.Marshal(Request{ID: 1, Type: TypeInit, Init: &in})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"options"`) {
		t.Errorf("init without --opt carries options: %s", b)
	}
	p.Options = map[string]string{"redis.persistence": "aof"}
	in = InitFor(&p, []string{"lock-0"}, 1, "n1")
	b, _ = json.Marshal(Request{ID: 1, Type: TypeInit, Init: &in})
	if !strings.Contains(string(b), `"options":{"redis.persistence":"aof"}`) {
		t.Errorf("init with --opt lacks its options: %s", b)
	}
}
