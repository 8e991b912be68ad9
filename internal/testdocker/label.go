package testdocker

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	dc "github.com/ory/dockertest/v3/docker"
)

// Label is the key of the label that every container and network a test
// creates carries, besides runtime.LabelRun, so that a test can count
// exactly its own leftovers. Its value names the test or its package.
const Label = "lockstorm.test"

// ID returns prefix, a dash and 8 random hex digits: a run id or a
// container name that no other test, and no other run of this one, uses.
func ID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "-" + hex.EncodeToString(b[:])
}

// Count returns how many containers, running or not, and networks carry
// label, given in the engine's filter form: "key" or "key=value". It fails
// the test when the engine cannot list them.
func Count(tb testing.TB, label string) (containers, networks int) {
	tb.Helper()
	return CountWhere(tb, label, nil)
}

// CountWhere is Count of the containers and networks whose labels keep
// accepts; a nil keep accepts all.
func CountWhere(tb testing.TB, label string, keep func(labels map[string]string) bool) (containers, networks int) {
	tb.Helper()
	cs, ns := list(tb, label)
	for _, c := range cs {
		if keep == nil || keep(c.Labels) {
			containers++
		}
	}
	for _, n := range ns {
		if keep == nil || keep(n.Labels) {
			networks++
		}
	}
	return containers, networks
}

// Remove removes, by force, the containers that carry label (Count's
// form), then the networks, and returns how many of each it removed. It
// is a safety net for a teardown that failed: it does not take the turn
// on the engine that runtime/docker takes for its removals, so it removes
// one thing at a time. A removal that fails fails the test.
func Remove(tb testing.TB, label string) (containers, networks int) {
	tb.Helper()
	p := Need(tb)
	cs, ns := list(tb, label)
	for _, c := range cs {
		if err := p.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true}); err != nil {
			tb.Errorf("remove container %v: %v", c.Names, err)
			continue
		}
		containers++
	}
	for _, n := range ns {
		if err := p.Client.RemoveNetwork(n.ID); err != nil {
			tb.Errorf("remove network %s: %v", n.Name, err)
			continue
		}
		networks++
	}
	return containers, networks
}

// list lists the containers and networks that carry label.
func list(tb testing.TB, label string) ([]dc.APIContainers, []dc.Network) {
	tb.Helper()
	p := Need(tb)
	cs, err := p.Client.ListContainers(dc.ListContainersOptions{All: true, Filters: map[string][]string{"label": {label}}})
	if err != nil {
		tb.Fatalf("list containers labelled %s: %v", label, err)
	}
	ns, err := p.Client.FilteredListNetworks(dc.NetworkFilterOpts{"label": {label: true}})
	if err != nil {
		tb.Fatalf("list networks labelled %s: %v", label, err)
	}
	return cs, ns
}
