package nemesis_test

import (
	"testing"

	"github.com/lockstorm/lockstorm/nemesis"
)

// A descriptor without Applies applies to every run.
func TestADescriptorWithoutAppliesAppliesEverywhere(t *testing.T) {
	for _, nem := range []nemesis.Nemesis{nemesis.ClientPause{}, nemesis.ClientCrash{}} {
		d := nem.Describe()
		if d.Applies != nil {
			t.Fatalf("%s has an Applies; pick a nemesis without one", d.Name)
		}
		if err := d.Applicable(&nemesis.Env{}); err != nil {
			t.Errorf("%s: %v, want applicable", d.Name, err)
		}
	}
}
