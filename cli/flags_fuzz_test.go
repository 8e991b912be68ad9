package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/internal/printable"
)

// FuzzRunFlags runs `lockstorm run` with arbitrary arguments through the
// in-process entry point, under a context cancelled beforehand: every flag
// is parsed and validated as always, and a plan that passes breaks off
// before anything runs (exit 2), or, for a target in containers, cannot
// reach Docker (exit 4; DOCKER_HOST points nowhere). Nothing panics; a
// refusal is exit 3 with one neutralised "lockstorm: " line; help is exit
// 0. Arguments are separated by newlines. CI runs it for a bounded time
// (docs/robustness.md).
func FuzzRunFlags(f *testing.F) {
	f.Setenv("DOCKER_HOST", "unix:///nonexistent/lockstorm-fuzz.sock")
	for _, seed := range []string{
		"--target\ninmemory",
		"--target\ninmemory\n--nodes\n3\n--time-limit\n10s\n--nemesis\nclient-pause,client-crash\n--seed\n7",
		"--target\ninmemory\n--time-limit\n0s",
		"--target\ninmemory\n--concurrency\n100000",
		"--target\ninmemory\n--rate\nNaN",
		"--target\ninmemory\n--rate\n1e-300",
		"--target\ninmemory\n--nodes\n100",
		"--target\ninmemory\n--keys\n0",
		"--target\ninmemory\n--ttl\n-1s",
		"--target\ninmemory\n--nemesis-interval\n1ns",
		"--target\ninmemory\n--hold\nauto\n--wait\n1s",
		"--target\ninmemory\n--hold\n-1s",
		"--target\ninmemory\n--workload\npayment\n--variant\nnope",
		"--target\ninmemory\n--opt\npause.mode=holder\n--opt\nnovalue",
		"--target\nredis\n--nemesis\npartition",
		"--target=inmemory\n--seed=-1",
		"--target\ninmemory\n--client\n/bin/sh",
		"--help",
		"--target\ninmemory\nextra",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		args := append([]string{"run"}, strings.Split(in, "\n")...)
		args = append(args, "--store", t.TempDir(), "--quiet")
		var out, errOut strings.Builder
		code := execute(ctx, args, &out, &errOut)
		switch code {
		case exitValid:
			if !strings.Contains(out.String(), "Usage:") {
				t.Fatalf("%q: exit 0 without running or showing help\n%s%s", in, out.String(), errOut.String())
			}
		case exitUnknown, exitInfra:
		case exitUsage:
			msg := errOut.String()
			if !strings.HasPrefix(msg, "lockstorm: ") || strings.Count(msg, "\n") != 1 {
				t.Fatalf("%q: a refusal that is not one usage line: %q", in, msg)
			}
			if printable.String(msg) != msg {
				t.Fatalf("%q: the refusal was not neutralised: %q", in, msg)
			}
		default:
			t.Fatalf("%q: exit %d\n%s%s", in, code, out.String(), errOut.String())
		}
	})
}
