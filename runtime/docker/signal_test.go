package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"
)

// The test binary re-executes itself as a "harness" that follows the
// teardown pattern of the package documentation. These variables tell the
// child what to do.
const (
	childModeEnv  = "LOCKSTORM_RUNTIME_TEST_CHILD"
	childRunEnv   = "LOCKSTORM_RUNTIME_TEST_RUN"
	childImageEnv = "LOCKSTORM_RUNTIME_TEST_IMAGE"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain starts a cluster as the package documentation tells harnesses
// to, prints "ready", and then either waits for SIGINT or panics.
func childMain(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := New(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Close()
	c, err := d.Start(ctx, runtime.Spec{
		RunID:  os.Getenv(childRunEnv),
		Image:  os.Getenv(childImageEnv),
		Nodes:  2,
		Labels: map[string]string{testdocker.Label: "runtime"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Teardown(ctx)
	fmt.Println("ready")
	switch mode {
	case "sigint":
		<-ctx.Done() // the run would unwind here
		return 0
	case "panic":
		panic("child panics while its cluster is up")
	}
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 1
}

func TestDockerTeardownAfterSIGINT(t *testing.T) {
	t.Parallel()
	out := runChild(t, "sigint", func(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) })
	if out.err != nil {
		t.Fatalf("child exited with %v after SIGINT; stderr:\n%s", out.err, out.stderr)
	}
}

func TestDockerTeardownAfterPanic(t *testing.T) {
	t.Parallel()
	out := runChild(t, "panic", nil)
	if out.err == nil || !strings.Contains(out.stderr, "child panics") {
		t.Fatalf("child did not panic: %v; stderr:\n%s", out.err, out.stderr)
	}
}

type childResult struct {
	err    error
	stderr string
}

// runChild starts the child in mode, waits for its cluster to be up,
// calls poke (if any), waits for the child to end and checks that nothing
// of its run is left.
func runChild(t *testing.T, mode string, poke func(*exec.Cmd) error) childResult {
	d := testdocker.Runtime(t, New)
	spec := testSpec(t, 2)
	t.Cleanup(func() { reapRun(t, d, spec.RunID) })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childRunEnv+"="+spec.RunID, childImageEnv+"="+spec.Image)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Wait()
		t.Fatalf("child said %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	if cs, _ := testdocker.Count(t, runtime.LabelRun+"="+spec.RunID); cs != 2 {
		t.Errorf("child's cluster has %d containers, want 2", cs)
	}
	if poke != nil {
		if err := poke(cmd); err != nil {
			t.Fatal(err)
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("child did not end: %v", errors.Join(err, ctx.Err()))
	}
	if cs, ns := testdocker.Count(t, runtime.LabelRun+"="+spec.RunID); cs != 0 || ns != 0 {
		t.Errorf("child (%s) left %d containers and %d networks", mode, cs, ns)
	}
	return childResult{err: err, stderr: stderr.String()}
}
