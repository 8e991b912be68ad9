package nemesis_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/plan"
)

// observerOf returns nem as a nemesis.Observer, or an error saying that it
// is not one. The conformance test requires an Observer of every nemesis
// in All that applies to its cluster: it checks each fault from outside,
// with Observe after Inject and Clean after Heal.
func observerOf(nem nemesis.Nemesis) (nemesis.Observer, error) {
	obs, ok := nem.(nemesis.Observer)
	if !ok {
		return nil, fmt.Errorf("nemesis %s (%T) does not implement nemesis.Observer (Observe and Clean, nemesis/optional.go): "+
			"the conformance test checks every nemesis in All from outside, after its Inject and its Heal", nem.Describe().Name, nem)
	}
	return obs, nil
}

// Every nemesis in All implements Observer, so that
// TestDockerNemesisConformance can check it; this test says so without
// Docker.
func TestEveryNemesisIsAnObserver(t *testing.T) {
	for _, nem := range nemesis.All() {
		if _, err := observerOf(nem); err != nil {
			t.Error(err)
		}
	}
}

// blind is a nemesis without Observe and Clean.
type blind struct{}

func (blind) Describe() nemesis.Descriptor { return nemesis.Descriptor{Name: "blind"} }
func (blind) Plan(*rand.Rand, schedule.PlanParams) (plan.Event, error) {
	return plan.Event{}, nil
}
func (blind) Inject(context.Context, *nemesis.Env, plan.Event) (any, error) { return nil, nil }
func (blind) Heal(context.Context, *nemesis.Env, plan.Event) (any, error)   { return nil, nil }
func (blind) Teardown(context.Context, *nemesis.Env) error                  { return nil }

func TestANemesisWithoutObserverIsNamed(t *testing.T) {
	_, err := observerOf(blind{})
	if err == nil || !strings.Contains(err.Error(), "nemesis blind") || !strings.Contains(err.Error(), "nemesis.Observer") {
		t.Fatalf("observerOf(blind) = %v, want an error naming blind and nemesis.Observer", err)
	}
}
