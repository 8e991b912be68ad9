package nemesis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"
)

// probePort is the TCP port that reachability probes connect to. Nothing
// listens on it, so a reachable node answers at once with a reset, and a
// node behind a DROP rule does not answer at all.
const probePort = "1"

// probeTimeout is how long a probe waits for an answer before it counts
// the pair as cut.
const probeTimeout = time.Second

// probeScript opens a TCP connection to port $1 of every address after
// $2, each with a timeout of $2 seconds, and prints "ip status": 124 for a
// timeout (the pair is cut), anything else for an answer.
const probeScript = `port=$1; secs=$2; shift 2
for ip in "$@"; do
  ( timeout "$secs" bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; echo "$ip $?" ) &
done
wait`

// checkReach probes a TCP connection between every ordered pair of nodes,
// from inside the source node, and from the harness to every node. The
// pairs in cut must time out; every other pair and the harness must get an
// answer.
func checkReach(ctx context.Context, env *Env, cut map[[2]string]bool) error {
	ips := nodeIPs(env.Cluster)
	byIP := map[string]string{}
	for n, ip := range ips {
		byIP[ip] = n
	}
	var errs []error
	err := onNodes(env.nodes(), func(src string) error {
		var dsts []string
		for _, d := range env.nodes() {
			if d != src {
				dsts = append(dsts, ips[d])
			}
		}
		args := append([]string{probePort, fmt.Sprint(probeTimeout.Seconds())}, dsts...)
		out, err := script(ctx, env.Cluster, src, probeScript, nil, args...)
		if err != nil {
			return fmt.Errorf("probe from %s: %w", src, err)
		}
		var bad []string
		seen := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			seen++
			dst := byIP[f[0]]
			blocked := f[1] == "124"
			if want := cut[[2]string{src, dst}]; blocked != want {
				bad = append(bad, fmt.Sprintf("%s→%s cut=%v (want %v)", src, dst, blocked, want))
			}
		}
		if seen != len(dsts) {
			return fmt.Errorf("probe from %s: %d answers for %d peers: %q", src, seen, len(dsts), out)
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return fmt.Errorf("reachability: %s", strings.Join(bad, ", "))
		}
		return nil
	})
	errs = append(errs, err)
	for _, n := range env.nodes() {
		if err := dialFromHarness(ctx, ips[n]); err != nil {
			errs = append(errs, fmt.Errorf("harness cannot reach %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// dialFromHarness returns nil if ip answers a TCP connection from the
// harness's own process, with a connection or a reset.
func dialFromHarness(ctx context.Context, ip string) error {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, probePort))
	if err == nil {
		return conn.Close()
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	return err
}
