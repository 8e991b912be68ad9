package runtime

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A run is reaped only when its owner has certainly ended: the same kernel
// boot and PID namespace, and no process with that PID and start time.
func TestOwnerGoneHoldsAcrossPIDNamespaces(t *testing.T) {
	self, err := OwnerOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	endedPID := ended.Process.Pid
	other := self
	other.PIDNS = "4026530000" // a lockstorm in another container
	reused := self
	reused.Start = self.Start + "0" // this PID, but another process's
	dead := self
	dead.PID = endedPID
	for _, tc := range []struct {
		name        string
		label       string
		gone, known bool
	}{
		{"this very process", self.String(), false, true},
		{"an ended process of this namespace", dead.String(), true, true},
		{"a live PID that another process held before", reused.String(), true, true},
		{"a process in another PID namespace, whatever its PID", other.String(), false, false},
		{"a process on another host", strings.Replace(self.String(), "boot="+self.Boot, "boot=0000", 1), false, false},
		{"a bare PID of an ended process (runs before 2026-12)", strconv.Itoa(endedPID), true, true},
		{"a bare PID of a live process", strconv.Itoa(os.Getpid()), false, true},
		{"a value it cannot read", "pid=12", false, false},
	} {
		gone, known := OwnerGone(self, tc.label)
		if gone != tc.gone || known != tc.known {
			t.Errorf("%s (%q): gone %v, known %v; want %v, %v", tc.name, tc.label, gone, known, tc.gone, tc.known)
		}
	}
}

func TestOwnerLabelNamesBootNamespacePIDAndStart(t *testing.T) {
	v, err := OwnerLabel(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	o, legacy, ok := ParseOwner(v)
	if !ok || legacy || o.PID != os.Getpid() || o.Boot == "" || o.PIDNS == "" || o.Start == "" {
		t.Fatalf("OwnerLabel = %q, parsed %+v (legacy %v, ok %v)", v, o, legacy, ok)
	}
}
