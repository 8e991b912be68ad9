package docker

import (
	"context"
	"errors"
	"hash/fnv"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/network"
)

func TestDockerTeardownRemovesEverythingIdempotently(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 3)
	c := startForTest(t, d, spec)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Leave nodes in every state a fault can leave them in.
	if err := c.Pause(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	// As after Ctrl-C: the context handed to Teardown is already cancelled.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := c.Teardown(cancelled); err != nil {
		t.Fatalf("Teardown with a cancelled context: %v", err)
	}
	if cs, ns := testdocker.Count(t, runtime.LabelRun+"="+spec.RunID); cs != 0 || ns != 0 {
		t.Fatalf("after Teardown: %d containers and %d networks left", cs, ns)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
}

func TestDockerReapCleansUpAKilledRunOnly(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// The "killed run": its handle is dropped without Teardown. The
	// unique label keeps Reap away from every other test's containers.
	crashed := testSpec(t, 3)
	crashed.Labels = map[string]string{testdocker.Label: crashed.RunID}
	t.Cleanup(func() { reapRun(t, d, crashed.RunID) })
	if _, err := d.Start(ctx, crashed); err != nil {
		t.Fatalf("Start: %v", err)
	}
	bystander := startForTest(t, d, testSpec(t, 1))

	got, err := d.Reap(ctx, map[string]string{testdocker.Label: crashed.RunID})
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	if got.Containers != 3 || got.Networks != 1 || len(got.Stuck) != 0 {
		t.Errorf("Reap removed %+v, want 3 containers and 1 network", got)
	}
	if cs, ns := testdocker.Count(t, runtime.LabelRun+"="+crashed.RunID); cs != 0 || ns != 0 {
		t.Errorf("after Reap: %d containers and %d networks left", cs, ns)
	}
	if !inspectNode(t, d, bystander, "n1").State.Running {
		t.Error("Reap with a label match stopped another run")
	}
	if again, err := d.Reap(ctx, map[string]string{testdocker.Label: crashed.RunID}); err != nil || again.Containers+again.Networks+len(again.Stuck) != 0 {
		t.Errorf("second Reap = %+v, %v; want nothing removed", again, err)
	}
}

func TestDockerStartRejectsMissingImage(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 2)
	spec.Image = "lockstorm-no-such-image:never"
	_, err := d.Start(context.Background(), spec)
	if !errors.Is(err, runtime.ErrNoImage) {
		t.Fatalf("Start = %v, want ErrNoImage", err)
	}
	if cs, ns := testdocker.Count(t, runtime.LabelRun+"="+spec.RunID); cs != 0 || ns != 0 {
		t.Fatalf("failed Start left %d containers and %d networks", cs, ns)
	}
}

func TestDockerStartWithTakenRunIDLeavesTheOtherRunAlone(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 2)
	c := startForTest(t, d, spec)
	if _, err := d.Start(context.Background(), spec); err == nil {
		t.Fatal("second Start with the same run id succeeded")
	}
	for _, n := range c.Nodes() {
		if !inspectNode(t, d, c, n.Name).State.Running {
			t.Errorf("%s of the first run is not running any more", n.Name)
		}
	}
}

func TestDockerConcurrentStartsGetDistinctSubnets(t *testing.T) {
	t.Parallel()
	d := testdocker.Runtime(t, New)
	// Two run ids whose subnet search starts at the same /24, so that the
	// second network creation has to move on.
	a := testSpec(t, 1)
	b := testSpec(t, 1)
	for subnetStart(b.RunID) != subnetStart(a.RunID) {
		b.RunID = testdocker.ID("test")
	}
	t.Cleanup(func() { reapRun(t, d, a.RunID); reapRun(t, d, b.RunID) })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var wg sync.WaitGroup
	clusters := make([]runtime.Cluster, 2)
	errs := make([]error, 2)
	for i, spec := range []runtime.Spec{a, b} {
		wg.Go(func() { clusters[i], errs[i] = d.Start(ctx, spec) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var subnets []netip.Prefix
	for _, c := range clusters {
		info, err := d.cli.NetworkInspect(context.Background(), NetworkName(c.RunID()), network.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, netip.MustParsePrefix(info.IPAM.Config[0].Subnet))
	}
	if subnets[0].Overlaps(subnets[1]) {
		t.Fatalf("two runs share subnet %s", subnets[0])
	}
}

// subnetStart mirrors pickSubnet's starting position for a seed.
func subnetStart(seed string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(seed))
	return h.Sum32() % 256
}
