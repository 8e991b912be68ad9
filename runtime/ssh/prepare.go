package ssh

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/runtime"
)

// A need is what a family of targets needs on a server host: Debian
// packages (the node image's) and the commands that show they are there.
type need struct {
	packages []string
	commands []string
}

// baseNeed is what every server host needs: the tools of the runtime and
// of the network nemeses, and a compiler for the clock shim.
var baseNeed = need{
	packages: []string{"ca-certificates", "procps", "iproute2", "iptables", "tar", "util-linux", "sudo", "gcc", "libc6-dev"},
	commands: []string{"pgrep", "iptables", "iptables-restore", "tar", "setsid", "sed", "sudo", runtime.ShimPath, runtime.ClockTool},
}

// needs are the packages of runtime/docker/image/files/Dockerfile, by
// the first word of a target's name.
var needs = map[string]need{
	"etcd":      {packages: []string{"etcd-server", "etcd-client"}, commands: []string{"etcd"}},
	"redis":     {packages: []string{"redis-server", "redis-sentinel", "redis-tools"}, commands: []string{"redis-server", "redis-sentinel", "redis-cli"}},
	"redlock":   {packages: []string{"redis-server", "redis-tools"}, commands: []string{"redis-server", "redis-cli"}},
	"zookeeper": {packages: []string{"default-jre-headless", "zookeeper"}, commands: []string{"java", "/usr/share/java/zookeeper.jar"}},
	"postgres":  {packages: []string{"postgresql-15", "postgresql-client-15"}, commands: []string{"postgres", "initdb", "pg_ctl"}},
	"mariadb":   {packages: []string{"mariadb-server", "mariadb-client"}, commands: []string{"mariadbd"}},
	"memcached": {packages: []string{"memcached"}, commands: []string{"memcached"}},
	"nats":      {packages: []string{"nats-server"}, commands: []string{"nats-server"}},
}

// needOf returns what the targets need, beyond baseNeed; an unknown
// target adds nothing.
func needOf(targets []string) need {
	var n need
	seen := map[string]bool{}
	add := func(xs []string, to *[]string) {
		for _, x := range xs {
			if !seen[x] {
				seen[x] = true
				*to = append(*to, x)
			}
		}
	}
	add(baseNeed.packages, &n.packages)
	add(baseNeed.commands, &n.commands)
	names := append([]string(nil), targets...)
	sort.Strings(names)
	for _, t := range names {
		fam, _, _ := strings.Cut(t, "-")
		if nd, ok := needs[fam]; ok {
			add(nd.packages, &n.packages)
			add(nd.commands, &n.commands)
		}
	}
	return n
}

// CheckScript prints every command or file of its arguments that the
// host lacks, one a line, with the node PATH: sh -c CheckScript sh ARGS.
const CheckScript = `PATH=` + NodePATH + `:$PATH
for c in "$@"; do
  case $c in
    /*) [ -e "$c" ] || echo "$c" ;;
    *) command -v "$c" >/dev/null 2>&1 || echo "$c" ;;
  esac
done`

// Check connects to every server host and reports, in one error, what
// each lacks for the targets (`lockstorm hosts prepare` installs it).
func (r *Runtime) Check(ctx context.Context, targets []string) error {
	n := needOf(targets)
	return eachHost(r.inv.Servers(), func(h Host) error {
		sh, err := r.host(h)
		if err != nil {
			return err
		}
		out, serr, code, err := runOut(ctx, sh, rootLine(false, CheckScript, n.commands...), nil)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr))
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", sh.label(), err)
		}
		if missing := strings.Fields(out); len(missing) > 0 {
			return fmt.Errorf("host %s lacks %s (lockstorm hosts prepare --hosts %s installs them)", h.Name, strings.Join(missing, ", "), r.inv.Path)
		}
		return nil
	})
}

// prepareScript installs Debian packages and builds the clock shim from
// the sources on standard input (a shell archive of two files):
// sh -c prepareScript sh PACKAGES...
const prepareScript = `set -e
export DEBIAN_FRONTEND=noninteractive
command -v apt-get >/dev/null || { echo "no apt-get: lockstorm hosts prepare knows Debian and Ubuntu only" >&2; exit 2; }
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
(cd "$src" && sh)
mkdir -p $(dirname ` + runtime.ShimPath + `) $(dirname ` + runtime.ClockTool + `)
gcc -O2 -Wall -fPIC -shared -o ` + runtime.ShimPath + ` "$src/clockshim.c" -ldl
gcc -O2 -Wall -o ` + runtime.ClockTool + ` "$src/lockstorm-clock.c" -lm`

// shimArchive is a shell script that writes the clock shim's sources
// into the current directory.
func shimArchive(source func(string) ([]byte, error)) (string, error) {
	if source == nil {
		return "", fmt.Errorf("prepare: no clock shim sources (Options.ShimSource)")
	}
	var b strings.Builder
	for _, name := range []string{"clockshim.c", "lockstorm-clock.c"} {
		src, err := source(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "cat >%s <<'LOCKSTORM_EOF'\n%s\nLOCKSTORM_EOF\n", name, strings.TrimRight(string(src), "\n"))
	}
	return b.String(), nil
}

// Prepare installs, on every server host, the Debian packages that the
// targets need (all targets when none is named) and the clock shim, with
// the host's apt-get; out receives the output. It needs root (or sudo:
// true) on the hosts.
func (r *Runtime) Prepare(ctx context.Context, targets []string, out io.Writer) error {
	if len(targets) == 0 {
		for fam := range needs {
			targets = append(targets, fam)
		}
	}
	n := needOf(targets)
	shar, err := shimArchive(r.shimSource)
	if err != nil {
		return err
	}
	return eachHost(r.inv.Servers(), func(h Host) error {
		sh, err := r.host(h)
		if err != nil {
			return err
		}
		w := &prefixWriter{w: out, prefix: h.Name + ": "}
		code, err := sh.run(ctx, rootLine(h.Sudo, prepareScript, n.packages...), strings.NewReader(shar), w, w)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d", code)
		}
		if err != nil {
			return fmt.Errorf("prepare %s: %w", sh.label(), err)
		}
		return nil
	})
}

// prefixWriter writes every line with a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(p.w, line); err != nil {
			return 0, err
		}
		p.mid = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}
