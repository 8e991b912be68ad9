// Package runtime starts and removes the node containers of a lockstorm run.
//
// A [Runtime] starts a [Cluster]: a private network with nodes n1..nN, each
// with a fixed IP that the harness on the host can dial directly. The
// [Cluster] runs commands on nodes and injects the faults that act on whole
// nodes (pause, kill, restart); network partitions and clock faults are
// commands that the nemesis runs inside the nodes with [Cluster.Exec].
//
// runtime/docker is the only implementation today. The interfaces name nodes, not
// containers, so that a runtime over SSH or Kubernetes can be added later
// without touching the harness.
//
// # Teardown, panics and signals
//
// The runtime installs no signal handlers and starts no goroutines that
// outlive a call. Signal handling belongs to the harness, which should follow
// this pattern:
//
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	cluster, err := rt.Start(ctx, spec)
//	if err != nil {
//		return err // Start has already removed what it created
//	}
//	defer cluster.Teardown(ctx) // runs on return, on error and on panic
//
// Ctrl-C cancels ctx; the run unwinds and the deferred Teardown still works,
// because Teardown ignores the cancellation of the context it is given and
// uses its own time limit. A panic in the goroutine that deferred Teardown
// also runs it. A panic in any other goroutine ends the process without
// running deferred calls, and so does SIGKILL: what such a crash leaves
// behind carries the label lockstorm.run=<run id> and is removed by
// [Runtime.Reap] (the `lockstorm clean` command).
package runtime
