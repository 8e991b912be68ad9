package nemesis

import (
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

func TestCheckParamsRefusesWhatInjectWouldRefuse(t *testing.T) {
	var pe *ParamError
	if err := CheckParams(plan.Event{Nemesis: "client-pause"}); !errors.As(err, &pe) || pe.Param != "stall" {
		t.Fatalf("got %v, want a ParamError about stall", err)
	}
	if err := CheckParams(plan.Event{Nemesis: "client-pause", Params: map[string]string{"stall": "1s"}}); err != nil {
		t.Fatal(err)
	}
	if err := CheckParams(plan.Event{Nemesis: "kill", Params: map[string]string{"restart-delay": "soon"}}); !errors.As(err, &pe) {
		t.Fatalf("got %v", err)
	}
}

// Resizing a client-pause event changes its stall with its duration; other
// events only change their duration.
func TestResizeShortensTheStallOfAClientPause(t *testing.T) {
	ev := plan.Event{Nemesis: "client-pause", Duration: 2 * time.Second, Params: map[string]string{"stall": "2s"}}
	got := Resize(ev, 300*time.Millisecond)
	if got.Duration != 300*time.Millisecond || got.Params["stall"] != "300ms" || ev.Params["stall"] != "2s" {
		t.Fatalf("got %+v (original %+v)", got, ev)
	}
	k := Resize(plan.Event{Nemesis: "kill", Duration: time.Second, Params: map[string]string{"restart-delay": "0s"}}, 100*time.Millisecond)
	if k.Duration != 100*time.Millisecond || k.Params["restart-delay"] != "0s" {
		t.Fatalf("got %+v", k)
	}
}
