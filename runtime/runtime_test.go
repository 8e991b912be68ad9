package runtime

import (
	"errors"
	"strings"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	ok := Spec{RunID: "redis-mutex-20260101T000000", Image: "img", Nodes: 5, Env: []string{"A=b"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	bad := map[string]func(*Spec){
		"empty run id":       func(s *Spec) { s.RunID = "" },
		"slash in run id":    func(s *Spec) { s.RunID = "a/b" },
		"leading dash":       func(s *Spec) { s.RunID = "-a" },
		"too long run id":    func(s *Spec) { s.RunID = strings.Repeat("a", 65) },
		"zero nodes":         func(s *Spec) { s.Nodes = 0 },
		"too many nodes":     func(s *Spec) { s.Nodes = MaxNodes + 1 },
		"env without equals": func(s *Spec) { s.Env = []string{"A"} },
		"reserved label":     func(s *Spec) { s.Labels = map[string]string{LabelRun: "x"} },
	}
	for name, mutate := range bad {
		s := ok
		mutate(&s)
		if err := s.Validate(); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%s: Validate() = %v, want ErrBadSpec", name, err)
		}
	}
}

func TestExecResultErr(t *testing.T) {
	if err := (ExecResult{Stderr: "noise"}).Err(); err != nil {
		t.Errorf("exit 0: Err() = %v", err)
	}
	err := (ExecResult{ExitCode: 2, Stderr: "boom\n"}).Err()
	if err == nil || err.Error() != "exit status 2: boom" {
		t.Errorf("exit 2: Err() = %v", err)
	}
}
