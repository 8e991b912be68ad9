package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Labels that the runtime puts on everything it creates.
const (
	// LabelRun carries the run id on every container and network of a run.
	LabelRun = "lockstorm.run"
	// LabelNode carries the node name ("n1") on every node container.
	LabelNode = "lockstorm.node"
	// LabelOwner names the lockstorm process that started a run (its
	// kernel boot, PID namespace, PID and start time), so that a later
	// start can tell the leftovers of killed runs from runs that are
	// still going, also when lockstorm processes in several PID
	// namespaces share one engine.
	LabelOwner = "lockstorm.owner"
)

// MaxNodes is the largest number of nodes one run may have.
const MaxNodes = 100

// MaxClients is the largest number of client containers one run may have.
const MaxClients = 64

// Sentinel errors that callers test with errors.Is.
var (
	// ErrNoDocker means that the Docker daemon cannot be reached.
	ErrNoDocker = errors.New("docker daemon unreachable")
	// ErrNoImage means that the node image is not present locally.
	ErrNoImage = errors.New("node image not found")
	// ErrBadSpec means that a Spec failed validation.
	ErrBadSpec = errors.New("invalid cluster spec")
	// ErrUnknownNode means that a node name is not one of the cluster's nodes.
	ErrUnknownNode = errors.New("unknown node")
	// ErrNoSuchPath means that CopyFrom found nothing at the given path.
	ErrNoSuchPath = errors.New("no such path on node")
	// ErrUnsafePath means that an archive entry would land outside the
	// destination directory.
	ErrUnsafePath = errors.New("unsafe path in archive")
)

// A Spec describes the nodes of one run.
type Spec struct {
	// RunID names the run. It appears in container and network names, so
	// it is limited to letters, digits, '_', '.' and '-' (at most 64, and
	// starting with a letter or digit).
	RunID string
	// Image is the node image, for example "lockstorm-node:latest"; ""
	// means the runtime's own node image, which it builds if needed.
	// Nothing is pulled from a registry.
	Image string
	// Nodes is the number of nodes, named n1..nN.
	Nodes int
	// Clients is the number of client containers, named c1..cK, on the
	// same network and from the same image: the machines on which client
	// processes run, so that a fault can be aimed at one client as at one
	// server. Zero means none.
	Clients int
	// Env holds extra environment variables ("KEY=value") for every node;
	// commands run with Exec inherit them.
	Env []string
	// ClientFiles are files of the harness's machine that every client
	// container sees, read-only, at the given paths: the lockstorm binary
	// that runs the client processes.
	ClientFiles []File
	// Labels holds extra labels for the containers and the network, for
	// example to group the runs of a campaign so that Reap can match them.
	// The keys LabelRun and LabelNode are reserved.
	Labels map[string]string
	// Log receives progress messages; nil discards them.
	Log *slog.Logger
}

var runIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Validate reports the first problem with s, wrapped in ErrBadSpec.
func (s Spec) Validate() error {
	switch {
	case !runIDPattern.MatchString(s.RunID):
		return fmt.Errorf("%w: run id %q must match %s", ErrBadSpec, s.RunID, runIDPattern)
	case s.Nodes < 1 || s.Nodes > MaxNodes:
		return fmt.Errorf("%w: %d nodes, want 1..%d", ErrBadSpec, s.Nodes, MaxNodes)
	case s.Clients < 0 || s.Clients > MaxClients:
		return fmt.Errorf("%w: %d client containers, want 0..%d", ErrBadSpec, s.Clients, MaxClients)
	}
	for _, f := range s.ClientFiles {
		if !strings.HasPrefix(f.Host, "/") || !strings.HasPrefix(f.Path, "/") {
			return fmt.Errorf("%w: client file %q -> %q: both paths must be absolute", ErrBadSpec, f.Host, f.Path)
		}
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("%w: env entry %q is not KEY=value", ErrBadSpec, kv)
		}
	}
	for k := range s.Labels {
		if k == LabelRun || k == LabelNode || k == LabelOwner {
			return fmt.Errorf("%w: label %q is reserved", ErrBadSpec, k)
		}
	}
	return nil
}

// NodeName returns the name of the i-th node, counting from 1: "n1", "n2"...
func NodeName(i int) string { return fmt.Sprintf("n%d", i) }

// ClientName returns the name of the i-th client container, counting
// from 1: "c1", "c2"...
func ClientName(i int) string { return fmt.Sprintf("c%d", i) }

// A File is a file of the harness's machine seen in a container.
type File struct {
	// Host is its path on the harness's machine; Path its path in the
	// container.
	Host, Path string
}

// A NodeInfo names one node and says where the harness reaches it.
type NodeInfo struct {
	// Name is the node's name and host name, "n1".."nN".
	Name string
	// IP is the node's fixed IPv4 address on the run's private network.
	// It stays the same across Kill and Restart.
	IP string
}

// ExecOptions adjusts how Exec runs a command.
type ExecOptions struct {
	// Env holds extra environment variables ("KEY=value").
	Env []string
	// Detach starts the command in the background and returns at once,
	// with an empty ExecResult. Its output is discarded.
	Detach bool
	// User runs the command as this user (name or uid[:gid]); empty means
	// the image's user.
	User string
	// Stdin is fed to the command's standard input, which is then closed.
	// It cannot be combined with Detach.
	Stdin []byte
}

// An ExecResult is what a finished command left behind.
type ExecResult struct {
	// Stdout and Stderr hold everything the command wrote.
	Stdout, Stderr string
	// ExitCode is the command's exit status. Docker reports 126 when the
	// command cannot be run and 127 when it is not found.
	ExitCode int
}

// Err returns nil if the command exited with status 0, and otherwise an
// error naming the status and the end of its standard error.
func (r ExecResult) Err() error {
	if r.ExitCode == 0 {
		return nil
	}
	msg := strings.TrimSpace(r.Stderr)
	if len(msg) > 512 {
		msg = "..." + msg[len(msg)-512:]
	}
	return fmt.Errorf("exit status %d: %s", r.ExitCode, msg)
}

// Reaped counts what Reap removed.
type Reaped struct {
	// Containers is the number of containers removed.
	Containers int
	// Networks is the number of networks removed.
	Networks int
	// Runs is the number of run directories removed from hosts
	// (runtime/ssh), one per host of a run.
	Runs int
	// Stuck names the networks that the engine would not remove although
	// no container was attached to them any more: Docker can keep a stale
	// endpoint on a network after its container is gone
	// (moby/moby#42119), and only a restart of the engine drops it.
	Stuck []string
	// Unseen lists the owners (LabelOwner values) of runs that ReapOrphans
	// left because it cannot tell whether their process still runs: it
	// runs in another PID namespace or on another host.
	Unseen []string
}

// Add adds o's counts, stuck networks and unseen owners to r.
func (r *Reaped) Add(o Reaped) {
	r.Containers += o.Containers
	r.Networks += o.Networks
	r.Runs += o.Runs
	r.Stuck = append(r.Stuck, o.Stuck...)
	r.Unseen = append(r.Unseen, o.Unseen...)
}

// An ImageProvider is a Runtime that prepares the image its nodes run,
// which may take minutes the first time (the Docker runtime builds it).
// The harness asks for it before a run's clock starts, so that the time
// to build it counts in no run's history.
type ImageProvider interface {
	NodeImage(ctx context.Context) (string, error)
}

// A HostSharer is a Runtime whose clusters are the same machines run
// after run (the user's hosts over SSH): a run's servers listen on the
// ports and keep their data where the next run's will, so no two runs
// may be under way at once. Runtimes that give every run machines of its
// own (Docker containers) do not implement it.
type HostSharer interface {
	SharesHosts() bool
}

// SharesHosts says whether rt's runs share machines (HostSharer).
func SharesHosts(rt Runtime) bool {
	hs, ok := rt.(HostSharer)
	return ok && hs.SharesHosts()
}

// A Runtime starts clusters and removes what crashed runs left behind.
// Implementations are safe for concurrent use.
type Runtime interface {
	// Start creates and starts the nodes of spec and returns when every
	// node runs and accepts Exec. On error it removes whatever it created.
	Start(ctx context.Context, spec Spec) (Cluster, error)
	// Reap removes every container and network that carries LabelRun and
	// also every label in match (nil matches all runs). Containers are
	// removed by force, networks after them. It returns what it removed.
	// Reaping all runs also ends runs that are still going.
	Reap(ctx context.Context, match map[string]string) (Reaped, error)
	// ReapOrphans removes what runs left behind whose lockstorm process
	// is gone (killed with SIGKILL, say). Runs of live processes are left
	// alone, so parallel runs do not reap each other.
	ReapOrphans(ctx context.Context) (Reaped, error)
	// Close releases the runtime's connections. Clusters it started stay up.
	Close() error
}

// A Cluster is the set of nodes of one run. Its methods are safe for
// concurrent use. Node arguments are node names ("n1"); an unknown name
// gives ErrUnknownNode.
type Cluster interface {
	// RunID returns the id of the run that the cluster belongs to.
	RunID() string
	// Nodes lists the nodes in order n1..nN.
	Nodes() []NodeInfo
	// Clients lists the client containers in order c1..cK. Every method
	// that takes a node name takes a client container's name too.
	Clients() []NodeInfo
	// Gateway is the harness machine's address on the run's network:
	// where containers reach a listener of the harness (the link
	// nemesis's proxies).
	Gateway() string
	// Exec runs cmd (no shell) on node and waits for it, unless
	// opts.Detach is set. A non-zero exit status is not an error: it is in
	// the result (see ExecResult.Err). If ctx ends first, Exec returns
	// ctx's error at once; the command may go on running on the node.
	// Exec waits until the command's output is closed, so a command that
	// leaves background processes holding it open keeps Exec waiting:
	// start servers with opts.Detach. Exec fails while the node is
	// paused or killed.
	Exec(ctx context.Context, node string, cmd []string, opts ExecOptions) (ExecResult, error)
	// Spawn starts cmd (no shell) on node with its standard streams
	// connected to the returned Process, and returns once it runs. ctx
	// bounds only the start; the process runs until it exits, is killed,
	// or its Process is closed.
	Spawn(ctx context.Context, node string, cmd []string, opts ExecOptions) (Process, error)
	// CopyTo copies the file or directory at hostPath on the harness's
	// machine into dir on node (dir is created), keeping its base name and
	// its mode bits.
	CopyTo(ctx context.Context, node, hostPath, dir string) error
	// Pause freezes every process of node (docker pause). Its network
	// stays up: connections are accepted by the kernel but never served.
	// Pausing a paused node does nothing.
	Pause(ctx context.Context, node string) error
	// Unpause thaws a paused node. Unpausing a running node does nothing.
	Unpause(ctx context.Context, node string) error
	// Kill sends SIGKILL to every process of node and returns once the
	// node has stopped. Killing a stopped node does nothing.
	Kill(ctx context.Context, node string) error
	// Restart starts a killed node again, with the same IP and file
	// system but none of the processes that Exec started. Restarting a
	// running node does nothing.
	Restart(ctx context.Context, node string) error
	// CopyFrom copies the file or directory at path on node into hostDir,
	// as hostDir/<base name of path>, creating hostDir if needed. Regular
	// files and directories are copied; symbolic links and special files
	// are skipped. An archive entry that would land outside hostDir stops
	// the copy with ErrUnsafePath. It works on killed nodes too.
	CopyFrom(ctx context.Context, node, path, hostDir string) error
	// Teardown removes every node and the network of the run. It is
	// idempotent, tolerates nodes that are already gone, and ignores the
	// cancellation of ctx (it has its own time limit), so that it works
	// after Ctrl-C.
	Teardown(ctx context.Context) error
}

// A Process is a command started with Cluster.Spawn.
type Process interface {
	// Stdin is the process's standard input; closing it sends end of
	// file.
	Stdin() io.WriteCloser
	// Stdout and Stderr are its standard output and error. Read both:
	// an unread stream can hold the other one back.
	Stdout() io.Reader
	Stderr() io.Reader
	// Wait waits until the process has exited and its output has been
	// read to the end, and returns its exit status.
	Wait(ctx context.Context) (int, error)
	// Close closes the streams. It does not stop the process: kill it
	// on its node (by the PID it reported, say) for that.
	Close() error
}
