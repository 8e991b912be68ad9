package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// An Owner is the lockstorm process that started a run, as LabelOwner
// (Docker) or the run directory's owner file (SSH) says:
// "boot=<kernel boot id>,pidns=<PID namespace>,pid=<PID>,start=<start
// time in clock ticks>". A PID alone means nothing in another PID
// namespace (a lockstorm in a container that shares the engine) and is
// reused after the process ends; with the namespace and the start time, a
// process that can see the owner's namespace can tell for sure whether it
// still runs, and one that cannot leaves the run alone.
type Owner struct {
	Boot, PIDNS string
	PID         int
	Start       string
}

func (o Owner) String() string {
	return fmt.Sprintf("boot=%s,pidns=%s,pid=%d,start=%s", o.Boot, o.PIDNS, o.PID, o.Start)
}

// procRoot is where the kernel's process file system is mounted.
const procRoot = "/proc"

// OwnerLabel returns the owner value (LabelOwner) of the process pid on
// this host, as the runs it starts carry it.
func OwnerLabel(pid int) (string, error) {
	o, err := OwnerOf(pid)
	if err != nil {
		return "", err
	}
	return o.String(), nil
}

// OwnerOf reads the owner identity of the process pid from /proc.
func OwnerOf(pid int) (Owner, error) {
	boot, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return Owner{}, fmt.Errorf("read boot id: %w", err)
	}
	ns, err := os.Readlink(procRoot + "/self/ns/pid")
	if err != nil {
		return Owner{}, fmt.Errorf("read pid namespace: %w", err)
	}
	start, err := startTime(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Boot: strings.TrimSpace(string(boot)), PIDNS: strings.Trim(strings.TrimPrefix(ns, "pid:"), "[]"), PID: pid, Start: start}, nil
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

// ParseOwner reads an owner value. ok is false for a value it cannot
// read; legacy is true for a bare PID, as runs before 2026-12 wrote.
func ParseOwner(v string) (o Owner, legacy, ok bool) {
	if pid, err := strconv.Atoi(v); err == nil {
		return Owner{PID: pid}, true, pid > 0
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, found := strings.Cut(kv, "=")
		if !found {
			return Owner{}, false, false
		}
		switch k {
		case "boot":
			o.Boot = val
		case "pidns":
			o.PIDNS = val
		case "pid":
			o.PID, _ = strconv.Atoi(val)
		case "start":
			o.Start = val
		}
	}
	return o, false, o.Boot != "" && o.PIDNS != "" && o.PID > 0 && o.Start != ""
}

// OwnerGone says whether the owner named by the value v has ended, as the
// process self sees it; known is false when it cannot tell (another host,
// another PID namespace, a value it cannot read).
func OwnerGone(self Owner, v string) (gone, known bool) {
	o, legacy, ok := ParseOwner(v)
	switch {
	case !ok:
		return false, false
	case legacy:
		// A bare PID, read in this namespace as the runs that wrote it
		// did.
		_, err := startTime(o.PID)
		return err != nil, true
	case o.Boot != self.Boot || o.PIDNS != self.PIDNS:
		return false, false
	}
	start, err := startTime(o.PID)
	return err != nil || start != o.Start, true
}
