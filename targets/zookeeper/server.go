// Package zookeeper is the zookeeper target: a ZooKeeper 3.8 ensemble and
// the lock recipe of go-zookeeper/zk. The ensemble, its session timeout
// (the lease) and its powers are in server.go, the Go binding in
// client.go, the contention workload's store in store.go.
package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Paths and ports of the ZooKeeper target inside a node.
const (
	zkConfDir    = "/etc/lockstorm-zk"
	zkConf       = zkConfDir + "/zoo.cfg"
	zkDataDir    = "/var/lib/lockstorm-zk"
	zkLog        = "/var/log/lockstorm-zookeeper.log"
	zkClientPort = 2181
	zkQuorumPort = 2888
	zkElectPort  = 3888
	// zkLockRoot is the parent of every lock's znode: the lock on key k
	// queues its children under zkLockRoot/k.
	zkLockRoot = "/lockstorm"
	// zkClasspath is Debian's server classpath (CLASSPATH in
	// /etc/zookeeper/conf/environment: the conf directory for
	// log4j.properties, and zookeeper.jar, whose manifest names its
	// dependencies), plus the slf4j binding to log4j so that the server
	// logs at all (without it slf4j falls back to a no-op logger).
	zkClasspath = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:" +
		"/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
)

// Service runs a ZooKeeper 3.8 ensemble (Debian's zookeeper package on
// the JRE), one server per node, and locks with the lock recipe of
// go-zookeeper/zk: an ephemeral sequential znode per waiter under the
// lock's znode, the lowest sequence number holds the lock, and each waiter
// watches its predecessor. The fencing token is the holder's sequence
// number, which the parent's child counter makes strictly increasing. A
// grant lasts as long as the client's session: the negotiated session
// timeout after the servers last heard from the client.
type Service struct {
	cluster  runtime.Cluster
	nodes    []string
	ips      map[string]string
	log      *slog.Logger
	tick     time.Duration
	asked    time.Duration // the session timeout clients ask for
	session  time.Duration // the timeout the servers negotiate
	maxLimit time.Duration
}

// The options of the zookeeper target.
var (
	zkTickOpt = option.Duration{Name: "zookeeper.tick", Default: 200 * time.Millisecond, Positive: true, Whole: time.Millisecond,
		Help: "the servers' tickTime; sessions last at least 2 ticks"}
	zkSessionOpt = option.Duration{Name: "zookeeper.session-timeout", Positive: true,
		Help: "the session timeout clients ask for (default: the TTL)"}
)

// New returns the ZooKeeper target.
func New() *Service { return &Service{} }

// Name implements targets.Service.
func (*Service) Name() string { return "zookeeper" }

// Describe implements targets.Service: three servers by default, the smallest
// ensemble that survives the loss of one.
func (*Service) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "ZooKeeper 3.8 ensemble, ephemeral sequential lock recipe (go-zookeeper); token = znode sequence number",
		DefaultNodes: 3,
		Options:      option.Specs(zkTickOpt, zkSessionOpt),
		Ports:        map[string]int{"client": zkClientPort},
	}
}

// HasTokens implements targets.Fencer: every grant carries its znode's sequence
// number.
func (*Service) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the lock node is ephemeral and lives as
// long as the session, which the client's heartbeats keep alive.
func (*Service) Expiry() targets.Expiry { return targets.RenewedExpiry }

// zkAsked is the session timeout that clients of p ask for.
func zkAsked(p *plan.Plan) time.Duration {
	if d, ok := zkSessionOpt.Lookup(p.Options); ok {
		return d
	}
	return p.TTL
}

// zkMaxSession is the maxSessionTimeout of zoo.cfg: 20 ticks, or the
// timeout asked for when that is longer.
func zkMaxSession(tick, asked time.Duration) time.Duration {
	return max(20*tick, asked.Truncate(time.Millisecond))
}

// zkClamp is the session timeout the servers grant for a request of d: ZK
// bounds it to [minSessionTimeout, maxSessionTimeout] of zoo.cfg.
func zkClamp(d, tick, maxLimit time.Duration) time.Duration {
	return min(max(d, 2*tick), maxLimit)
}

// Prepare implements targets.Service: the lease is the session timeout that the
// servers will negotiate for the one clients ask for.
func (*Service) Prepare(p *plan.Plan) (time.Duration, error) {
	tick, asked := zkTickOpt.Get(p.Options), zkAsked(p)
	return zkClamp(asked, tick, zkMaxSession(tick, asked)), nil
}

// Binding implements targets.Service.
func (*Service) Binding() targets.Binding { return zkBinding{} }

// ClockShimmed implements targets.ClockShimmed: the servers run with the shim
// preloaded, and the JVM reads the clock through libc's clock_gettime,
// which the shim shifts (the Docker test checks a znode's ctime). ZooKeeper
// times sessions and elections with System.nanoTime (CLOCK_MONOTONIC),
// which the shim shifts only on request; the wall clock stamps znodes.
func (*Service) ClockShimmed() bool { return true }

// Setup writes each server's zoo.cfg and myid, starts the servers, and
// waits until there is one leader, every server serves, and a session
// can create the lock root. The lease is the session timeout that the
// servers negotiate, which it reads from the server: a client's lock
// znodes live until its session expires, that long after the servers last
// heard from it.
func (z *Service) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("zookeeper: no cluster nodes")
	}
	z.cluster, z.nodes, z.log = env.Cluster, p.NodeNames(), env.Log
	if z.log == nil {
		z.log = slog.New(slog.DiscardHandler)
	}
	z.tick, z.asked = zkTickOpt.Get(p.Options), zkAsked(p)
	z.maxLimit = zkMaxSession(z.tick, z.asked)
	z.ips = map[string]string{}
	for _, n := range p.Nodes {
		if n.IP == "" {
			return 0, fmt.Errorf("zookeeper: %w: %s", runtime.ErrUnknownNode, n.Name)
		}
		z.ips[n.Name] = n.IP
	}
	cfg := z.config()
	for i, n := range z.nodes {
		script := fmt.Sprintf("mkdir -p %s %s && cat > %s && echo %d > %s/myid", zkConfDir, zkDataDir, zkConf, i+1, zkDataDir)
		res, err := z.cluster.Exec(ctx, n, []string{"sh", "-c", script}, runtime.ExecOptions{Stdin: []byte(cfg)})
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			return 0, fmt.Errorf("zookeeper: write config on %s: %w", n, err)
		}
	}
	for _, n := range z.nodes {
		if err := z.start(ctx, n); err != nil {
			return 0, err
		}
	}
	if err := wait.For(ctx, 90*time.Second, 250*time.Millisecond, z.healthy); err != nil {
		return 0, fmt.Errorf("zookeeper: ensemble not healthy: %w", err)
	}
	if err := wait.For(ctx, 30*time.Second, 250*time.Millisecond, z.prepare); err != nil {
		return 0, err
	}
	return z.session, nil
}

// config is the zoo.cfg of every server. The limits are counted in ticks:
// followers connect and sync within 5 s and keep up within 2 s.
func (z *Service) config() string {
	ticks := func(d time.Duration) int {
		n := int((d + z.tick - 1) / z.tick)
		if n < 2 {
			n = 2
		}
		return n
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=%d\n", z.tick.Milliseconds())
	fmt.Fprintf(&b, "initLimit=%d\nsyncLimit=%d\n", ticks(5*time.Second), ticks(2*time.Second))
	fmt.Fprintf(&b, "dataDir=%s\nclientPort=%d\n", zkDataDir, zkClientPort)
	fmt.Fprintf(&b, "minSessionTimeout=%d\nmaxSessionTimeout=%d\n", (2 * z.tick).Milliseconds(), z.maxLimit.Milliseconds())
	b.WriteString("4lw.commands.whitelist=*\nadmin.enableServer=false\n")
	for i, n := range z.nodes {
		fmt.Fprintf(&b, "server.%d=%s:%d:%d\n", i+1, z.ips[n], zkQuorumPort, zkElectPort)
	}
	return b.String()
}

// start runs the server on node in the foreground of a detached shell,
// with a small heap, the serial collector and the clock shim.
func (z *Service) start(ctx context.Context, node string) error {
	cmd := "java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true " +
		"-Dzookeeper.root.logger=INFO,CONSOLE -Dzookeeper.log.dir=/var/log " +
		"-cp " + zkClasspath + " org.apache.zookeeper.server.quorum.QuorumPeerMain " + zkConf
	return targets.StartDaemon(ctx, z.cluster, node, targets.Daemon{Name: "java", Cmd: cmd, Log: zkLog, Shim: true})
}

// zkModeRE finds the server's role in the output of the srvr command.
var zkModeRE = regexp.MustCompile(`(?m)^Mode: (\w+)`)

// mode asks node's server for its role: leader, follower or standalone.
func (z *Service) mode(node string, timeout time.Duration) (string, error) {
	out, err := zkFourLetter(z.addr(node), "srvr", timeout)
	if err != nil {
		return "", err
	}
	m := zkModeRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("srvr on %s: no mode in %q", node, strings.TrimSpace(out))
	}
	return m[1], nil
}

// healthy checks that every server serves and exactly one leads (or the
// only server runs standalone).
func (z *Service) healthy(context.Context) error {
	leaders := 0
	for _, n := range z.nodes {
		m, err := z.mode(n, time.Second)
		if err != nil {
			return err
		}
		switch m {
		case "leader", "standalone":
			leaders++
		case "follower":
		default:
			return fmt.Errorf("%s is %s", n, m)
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d leaders", leaders)
	}
	return nil
}

// prepare opens a session through each server in turn, creates the lock
// root, and reads the negotiated session timeout from the server's list
// of connections.
func (z *Service) prepare(ctx context.Context) error {
	for _, n := range z.nodes {
		conn, _, err := zk.Connect([]string{z.addr(n)}, z.asked, zk.WithLogger(zkLogger{z.log}), zk.WithLogInfo(false))
		if err != nil {
			return err
		}
		err = func() error {
			defer conn.Close()
			if err := zkWaitSession(ctx, conn); err != nil {
				return fmt.Errorf("session through %s: %w", n, err)
			}
			if _, err := conn.Create(zkLockRoot, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return fmt.Errorf("create %s through %s: %w", zkLockRoot, n, err)
			}
			if n != z.nodes[0] {
				return nil
			}
			to, err := z.negotiated(n, conn.SessionID())
			if err != nil {
				return err
			}
			z.session = to
			return nil
		}()
		if err != nil {
			return err
		}
	}
	if want := zkClamp(z.asked, z.tick, z.maxLimit); z.session != want {
		z.log.Warn("zookeeper: negotiated session timeout differs from the configured bounds",
			"asked", z.asked, "negotiated", z.session, "expected", want)
	}
	z.log.Info("zookeeper session", "asked", z.asked, "negotiated", z.session, "tick", z.tick)
	return nil
}

// zkConsRE finds a session's id and timeout in a line of the cons command.
var zkConsRE = regexp.MustCompile(`sid=0x([0-9a-f]+),.*\bto=(\d+)`)

// negotiated reads the timeout of session sid from node's connection list.
func (z *Service) negotiated(node string, sid int64) (time.Duration, error) {
	out, err := zkFourLetter(z.addr(node), "cons", time.Second)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		m := zkConsRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, err1 := strconv.ParseUint(m[1], 16, 64)
		ms, err2 := strconv.Atoi(m[2])
		if err1 == nil && err2 == nil && int64(id) == sid {
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("session 0x%x not in the connections of %s", sid, node)
}

func (z *Service) addr(node string) string {
	return net.JoinHostPort(z.ips[node], strconv.Itoa(zkClientPort))
}

// Teardown implements targets.Service: clients close their own sessions.
func (*Service) Teardown(context.Context) error { return nil }

// ServerProcess implements targets.Servers: the JVM.
func (*Service) ServerProcess(string) string { return "java" }

// StartServer implements targets.Servers: it starts the server again with the
// same configuration and data, and waits until it serves.
func (z *Service) StartServer(ctx context.Context, node string) error {
	if err := z.start(ctx, node); err != nil {
		return err
	}
	return wait.For(ctx, 60*time.Second, 250*time.Millisecond, func(context.Context) error {
		m, err := z.mode(node, time.Second)
		if err != nil {
			return err
		}
		if m != "leader" && m != "follower" && m != "standalone" {
			return fmt.Errorf("%s is %s", node, m)
		}
		return nil
	})
}

// Primaries implements targets.Primaries: the servers that say they lead.
// Servers that do not answer within a second are skipped.
func (z *Service) Primaries(ctx context.Context) ([]string, error) {
	var out []string
	var errs []error
	for _, n := range z.nodes {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m, err := z.mode(n, time.Second)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m == "leader" || m == "standalone" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// LogPaths implements targets.LogCollector.
func (z *Service) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range z.nodes {
		out[n] = []string{zkLog}
	}
	return out
}

// zkFourLetter sends a four-letter-word command to a server and returns
// its answer. (zk.FLWSrvr cannot parse the build date of Debian's build.)
func zkFourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("%s to %s: %w", cmd, addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(cmd)); err != nil {
		return "", fmt.Errorf("%s to %s: %w", cmd, addr, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("%s to %s: %w", cmd, addr, err)
	}
	return string(b), nil
}

// zkWaitSession waits until conn has a session or ctx ends.
func zkWaitSession(ctx context.Context, conn *zk.Conn) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for conn.State() != zk.StateHasSession {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no session (state %s): %w", conn.State(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// zkLogger sends the client library's messages to the run log at debug
// level.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	if l.log != nil {
		l.log.Debug("zk client: " + fmt.Sprintf(format, args...))
	}
}
