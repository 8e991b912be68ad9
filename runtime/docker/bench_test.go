package docker

import (
	"context"
	"testing"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"
)

// BenchmarkDockerClusterUp measures a 3-node cluster from the Start call
// until every node has answered an Exec. Teardown is not timed. Run it as
// go test -run '^$' -bench DockerClusterUp -benchtime 1x -count 5.
func BenchmarkDockerClusterUp(b *testing.B) {
	d := testdocker.Runtime(b, New)
	image := testdocker.Image(b)
	ctx := context.Background()
	for b.Loop() {
		spec := runtime.Spec{RunID: testdocker.ID("test"), Image: image, Nodes: 3, Labels: map[string]string{testdocker.Label: "bench"}}
		c, err := d.Start(ctx, spec)
		if err != nil {
			b.Fatalf("Start: %v", err)
		}
		err = parallel(c.Nodes(), func(n runtime.NodeInfo) error {
			res, err := c.Exec(ctx, n.Name, []string{"true"}, runtime.ExecOptions{})
			if err == nil {
				err = res.Err()
			}
			return err
		})
		if err != nil {
			b.Fatalf("exec: %v", err)
		}
		b.StopTimer()
		if err := c.Teardown(ctx); err != nil {
			b.Fatalf("Teardown: %v", err)
		}
		b.StartTimer()
	}
}
