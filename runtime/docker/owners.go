package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// An owner is the lockstorm process that started a run, as its containers'
// LabelOwner says: "boot=<kernel boot id>,pidns=<PID namespace>,pid=<PID>,
// start=<start time in clock ticks>". A PID alone means nothing in another
// PID namespace (a lockstorm in a container that shares the engine) and is
// reused after the process ends; with the namespace and the start time, a
// process that can see the owner's namespace can tell for sure whether it
// still runs, and one that cannot leaves the run alone.
type owner struct {
	boot, pidns string
	pid         int
	start       string
}

func (o owner) String() string {
	return fmt.Sprintf("boot=%s,pidns=%s,pid=%d,start=%s", o.boot, o.pidns, o.pid, o.start)
}

// procRoot is where the kernel's process file system is mounted.
const procRoot = "/proc"

// OwnerLabel returns the LabelOwner value of the process pid on this
// host, as the runs it starts carry it.
func OwnerLabel(pid int) (string, error) {
	o, err := ownerOf(pid)
	if err != nil {
		return "", err
	}
	return o.String(), nil
}

// ownerOf reads the owner of the process pid from /proc.
func ownerOf(pid int) (owner, error) {
	boot, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return owner{}, fmt.Errorf("read boot id: %w", err)
	}
	ns, err := os.Readlink(procRoot + "/self/ns/pid")
	if err != nil {
		return owner{}, fmt.Errorf("read pid namespace: %w", err)
	}
	start, err := startTime(pid)
	if err != nil {
		return owner{}, err
	}
	return owner{boot: strings.TrimSpace(string(boot)), pidns: strings.Trim(strings.TrimPrefix(ns, "pid:"), "[]"), pid: pid, start: start}, nil
}

// startTime reads the start time of pid (field 22 of /proc/PID/stat, in
// clock ticks since boot).
func startTime(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return "", fmt.Errorf("read process %d: %w", pid, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", fmt.Errorf("process %d: malformed stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("process %d: malformed stat", pid)
	}
	return fields[19], nil // field 22 of the whole line
}

// parseOwner reads a LabelOwner value. ok is false for a value it cannot
// read; legacy is true for a bare PID, as runs before 2026-12 wrote.
func parseOwner(v string) (o owner, legacy, ok bool) {
	if pid, err := strconv.Atoi(v); err == nil {
		return owner{pid: pid}, true, pid > 0
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, found := strings.Cut(kv, "=")
		if !found {
			return owner{}, false, false
		}
		switch k {
		case "boot":
			o.boot = val
		case "pidns":
			o.pidns = val
		case "pid":
			o.pid, _ = strconv.Atoi(val)
		case "start":
			o.start = val
		}
	}
	return o, false, o.boot != "" && o.pidns != "" && o.pid > 0 && o.start != ""
}

// ownerGone says whether the owner named by the label value v has ended,
// as this process sees it; known is false when it cannot tell (another
// host, another PID namespace, a value it cannot read).
func ownerGone(self owner, v string) (gone, known bool) {
	o, legacy, ok := parseOwner(v)
	switch {
	case !ok:
		return false, false
	case legacy:
		// A bare PID, read in this namespace as the runs that wrote it
		// did.
		_, err := startTime(o.pid)
		return err != nil, true
	case o.boot != self.boot || o.pidns != self.pidns:
		return false, false
	}
	start, err := startTime(o.pid)
	return err != nil || start != o.start, true
}

// LabelValues returns the distinct values of label over every container and
// network that carries LabelRun and label, sorted.
func (d *Runtime) LabelValues(ctx context.Context, label string) ([]string, error) {
	args := filters.NewArgs(filters.Arg("label", runtime.LabelRun), filters.Arg("label", label))
	seen := map[string]bool{}
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		seen[c.Labels[label]] = true
	}
	ns, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		seen[n.Labels[label]] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

// ReapOrphans implements runtime.Runtime: it removes the containers and
// networks of runs whose owner process (LabelOwner) has ended. Runs whose
// owner it cannot see (another PID namespace or host sharing the engine)
// are left, and counted in Reaped.Unseen.
func (d *Runtime) ReapOrphans(ctx context.Context) (runtime.Reaped, error) {
	self, err := ownerOf(os.Getpid())
	if err != nil {
		return runtime.Reaped{}, err
	}
	owners, err := d.LabelValues(ctx, runtime.LabelOwner)
	if err != nil {
		return runtime.Reaped{}, err
	}
	var total runtime.Reaped
	var errs []error
	for _, v := range owners {
		gone, known := ownerGone(self, v)
		if !known {
			total.Unseen = append(total.Unseen, v)
			continue
		}
		if !gone {
			continue
		}
		n, err := d.Reap(ctx, map[string]string{runtime.LabelOwner: v})
		total.Add(n)
		errs = append(errs, err)
	}
	if len(total.Unseen) > 0 {
		d.log.Info("left the runs of lockstorm processes that this one cannot see (another PID namespace or host); `lockstorm clean --all` removes them once they have ended", "owners", total.Unseen)
	}
	return total, errors.Join(errs...)
}
