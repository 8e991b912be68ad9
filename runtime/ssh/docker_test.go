package ssh_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	xssh "golang.org/x/crypto/ssh"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/internal/keepfailed"
	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
	rtssh "github.com/lockstorm/lockstorm/runtime/ssh"
	"github.com/lockstorm/lockstorm/targets/all"
)

// sshHostImage is the image of the test's "hosts": the node image with
// Debian's openssh-server and sudo, built here with the classic builder
// from the node image (whose apt sources are the host's mirror).
const sshHostImage = "lockstorm-test-sshd:latest"

const sshHostDockerfile = `ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server sudo \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh
LABEL lockstorm.image=test
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "printf '%s\\n' \"$AUTHORIZED_KEY\" >/root/.ssh/authorized_keys && exec /usr/sbin/sshd -D -e -o MaxSessions=200 -o MaxStartups=200 -o PermitRootLogin=prohibit-password"]
`

// buildSSHHostImage builds sshHostImage from the node image.
func buildSSHHostImage(t *testing.T, cli *client.Client, base string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(sshHostDockerfile))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(sshHostDockerfile)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{sshHostImage}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true,
		BuildArgs: map[string]*string{"BASE": &base},
		Labels:    map[string]string{"lockstorm.image": "test"},
		Version:   build.BuilderV1,
	})
	if err != nil {
		t.Fatalf("build %s: %v", sshHostImage, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if strings.Contains(out.String(), `"errorDetail"`) {
		t.Fatalf("build %s: %s", sshHostImage, out.String())
	}
}

// sshHosts are the test's hosts: containers running sshd.
type sshHosts struct {
	cli       *client.Client
	ids       []string // servers first, then the client host
	ips       []string
	inventory string
}

// startSSHHosts starts servers+clients sshd containers on a network of
// their own and writes their inventory, with a key made for the test.
func startSSHHosts(t *testing.T, servers, clients int) *sshHosts {
	t.Helper()
	rt := testdocker.Runtime(t, docker.New)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	base, err := rt.NodeImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cli := testdocker.Client(t)
	buildSSHHostImage(t, cli, base)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKey(priv, "lockstorm test")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}

	mark := testdocker.ID("ssh-hosts")
	labels := map[string]string{testdocker.Label: mark, runtime.LabelRun: mark}
	netName := "lockstorm-" + mark
	if _, err := cli.NetworkCreate(ctx, netName, network.CreateOptions{Driver: "bridge", Labels: labels}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testdocker.Remove(t, testdocker.Label+"="+mark) })
	h := &sshHosts{cli: cli}
	var inv strings.Builder
	fmt.Fprintf(&inv, "known_hosts: known_hosts\nhosts:\n")
	for i := 0; i < servers+clients; i++ {
		role, name := "server", fmt.Sprintf("s%d", i+1)
		if i >= servers {
			role, name = "client", fmt.Sprintf("c%d", i-servers+1)
		}
		resp, err := cli.ContainerCreate(ctx,
			&container.Config{Image: sshHostImage, Hostname: name, Labels: labels,
				Env: []string{"AUTHORIZED_KEY=" + strings.TrimSpace(string(xssh.MarshalAuthorizedKey(sshPub)))}},
			&container.HostConfig{NetworkMode: container.NetworkMode(netName), CapAdd: []string{"NET_ADMIN"}},
			nil, nil, netName+"-"+name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		info, err := cli.ContainerInspect(ctx, resp.ID)
		if err != nil {
			t.Fatal(err)
		}
		ip := info.NetworkSettings.Networks[netName].IPAddress
		h.ids, h.ips = append(h.ids, resp.ID), append(h.ips, ip)
		fmt.Fprintf(&inv, "  - {name: %s, address: %s, user: root, key: id_ed25519, role: %s}\n", name, ip, role)
	}
	body := inv.String()
	if servers == 3 && clients == 1 {
		// docs/ssh.md's example inventory is the layout of these hosts:
		// it is the one used, with the hosts' addresses put in.
		body = docsInventory(t, h.ips)
	}
	h.inventory = filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(h.inventory, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory:\n%s", body)
	return h
}

// docsInventory returns the example inventory of docs/ssh.md (its first
// yaml block) with the addresses of hosts s1, s2, s3 and c1 replaced by
// ips, in that order.
func docsInventory(t *testing.T, ips []string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ssh.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/ssh.md has no yaml block")
	}
	addr := regexp.MustCompile(`address: [^,}]+`)
	lines := strings.Split(block, "\n")
	for i, name := range []string{"s1", "s2", "s3", "c1"} {
		found := false
		for j, l := range lines {
			if strings.Contains(l, "name: "+name+",") {
				lines[j], found = addr.ReplaceAllString(l, "address: "+ips[i]), true
			}
		}
		if !found {
			t.Fatalf("docs/ssh.md's example inventory has no host %s", name)
		}
	}
	return strings.Join(lines, "\n")
}

// exec runs a shell script in host i's container and returns its output.
func (h *sshHosts) exec(t *testing.T, i int, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := h.cli.ContainerExecCreate(ctx, h.ids[i], container.ExecOptions{Cmd: []string{"sh", "-c", script}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var out bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, &out, resp.Reader)
	return out.String()
}

// leftoverScript prints what lockstorm left on a host: processes carrying
// the run marker, processes of a user other than root (the servers that
// run as their own user, whose environment root cannot read in a
// container without CAP_SYS_PTRACE), lockstorm's chains, run directories
// and server files.
const leftoverScript = `for e in /proc/[0-9]*/environ; do
  if tr '\0' '\n' 2>/dev/null <"$e" | grep -q '^LOCKSTORM_RUN='; then p=${e#/proc/}; echo "process ${p%/environ}: $(tr '\0' ' ' 2>/dev/null </proc/${p%/environ}/cmdline)"; fi
done
ps -eo pid=,user=,comm= | awk '$2 != "root" && $3 != "sshd" { print "process " $1 " of " $2 ": " $3 }'
iptables -w -S 2>/dev/null | grep LOCKSTORM
iptables -w -t nat -S 2>/dev/null | grep LOCKSTORM
ls -d /var/lib/lockstorm /var/lib/lockstorm-* /var/log/lockstorm-* /etc/lockstorm-* /run/lockstorm 2>/dev/null
true`

// decoyScript leaves on a host what a user has there beside lockstorm: a
// process, an iptables chain with a rule and a rule in INPUT, a directory.
const decoyScript = `setsid sleep 600 </dev/null >/dev/null 2>&1 &
echo $! >/root/decoy.pid
iptables -w -N DECOY && iptables -w -A DECOY -s 10.99.99.98 -j DROP
iptables -w -A INPUT -s 10.99.99.99 -j DROP
mkdir -p /var/lib/decoy`

// decoyCheckScript says "decoys intact" if decoyScript's decoys are all
// there, and removes them.
const decoyCheckScript = `ok=1
kill -0 "$(cat /root/decoy.pid)" 2>/dev/null || { echo "the decoy process is gone"; ok=0; }
iptables -w -S DECOY 2>/dev/null | grep -q 10.99.99.98 || { echo "the decoy chain or its rule is gone"; ok=0; }
iptables -w -S INPUT | grep -q 10.99.99.99 || { echo "the decoy INPUT rule is gone"; ok=0; }
[ -d /var/lib/decoy ] || { echo "/var/lib/decoy is gone"; ok=0; }
kill "$(cat /root/decoy.pid)" 2>/dev/null
iptables -w -D INPUT -s 10.99.99.99 -j DROP 2>/dev/null
iptables -w -F DECOY 2>/dev/null; iptables -w -X DECOY 2>/dev/null
rm -rf /var/lib/decoy /root/decoy.pid
[ $ok = 1 ] && echo "decoys intact"
true`

// assertClean fails the test if any host holds something of lockstorm's.
func (h *sshHosts) assertClean(t *testing.T, when string) {
	t.Helper()
	for i := range h.ids {
		// Processes killed a moment ago may still be on their way out.
		var out string
		for try := 0; try < 20; try++ {
			if out = strings.TrimSpace(h.exec(t, i, leftoverScript)); out == "" {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if out != "" {
			t.Errorf("%s: host %s still holds:\n%s", when, h.ips[i], out)
		}
	}
}

func TestDockerSSH(t *testing.T) {
	testdocker.Need(t)
	hosts := startSSHHosts(t, 3, 1)
	inv, err := rtssh.LoadInventory(hosts.inventory)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rtssh.New(rtssh.Options{Inventory: inv, AcceptNewHostKeys: true, ShimSource: image.File})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	all.Register()
	ctx := context.Background()
	if err := rt.Check(ctx, []string{"etcd", "redis", "zookeeper", "postgres-advisory"}); err != nil {
		t.Fatalf("the hosts lack something: %v", err)
	}

	run := func(t *testing.T, target string, want checker.Status, change func(*plan.Plan)) {
		t.Helper()
		cfg := harness.DefaultConfig()
		cfg.Plan.Target, cfg.Plan.Seed = target, 7
		if change != nil {
			change(&cfg.Plan)
		}
		cfg.Runtime = rt
		cfg.ClientBinary = testdocker.Lockstorm(t)
		cfg.StoreDir = t.TempDir()
		keepfailed.OnFailure(t, cfg.StoreDir)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		res, err := harness.Execute(rctx, cfg)
		if err != nil {
			t.Fatalf("Execute %s: %v (summary: %s)", target, err, res.Summary)
		}
		t.Logf("%s %v over SSH: %s, %d ops in %s", target, res.Plan.Nemeses, res.Status, res.Ops, res.Duration.Round(time.Millisecond))
		if res.Status != want {
			t.Errorf("%s %v: %s, want %s (summary: %s)", target, res.Plan.Nemeses, res.Status, want, res.Summary)
		}
		if res.Leftover != nil {
			t.Errorf("teardown left something: %s", res.Leftover.Error)
		}
		hosts.assertClean(t, "after "+target)
	}

	for _, target := range []string{"etcd", "redis", "zookeeper", "postgres-advisory"} {
		t.Run(target+"-no-faults", func(t *testing.T) {
			run(t, target, checker.Valid, func(p *plan.Plan) { p.TimeLimit = 15 * time.Second })
		})
	}
	// The published failures that need only the servers, as the default
	// campaign runs them (campaign/campaigns/default.yaml).
	t.Run("etcd-holder-node-paused", func(t *testing.T) {
		run(t, "etcd", checker.Invalid, func(p *plan.Plan) {
			p.Nemeses, p.Hold, p.TimeLimit = []string{"pause"}, 5*time.Second, 40*time.Second
			p.Options = map[string]string{"pause.mode": "holder"}
		})
	})
	t.Run("redis-holder-stalls", func(t *testing.T) {
		run(t, "redis", checker.Invalid, func(p *plan.Plan) {
			p.Nemeses, p.TTL, p.TimeLimit, p.NemesisInterval = []string{"client-pause"}, time.Second, 15*time.Second, 5*time.Second
		})
	})
	t.Run("zookeeper-holder-partitioned", func(t *testing.T) {
		run(t, "zookeeper", checker.Invalid, func(p *plan.Plan) {
			p.Nemeses, p.Hold, p.TimeLimit = []string{"partition"}, 5*time.Second, 40*time.Second
			p.Options = map[string]string{"partition.mode": "holder"}
		})
	})

	// A run whose lockstorm is killed with SIGKILL leaves its servers and
	// run directories; lockstorm clean --hosts removes them, and nothing
	// else.
	t.Run("sigkill-then-clean", func(t *testing.T) {
		bin := testdocker.Lockstorm(t)
		store := t.TempDir()
		cmd := exec.Command(bin, "run", "--hosts", hosts.inventory, "--accept-new-host-keys", "--target", "redis", "--time-limit", "60s", "--store", store, "--quiet")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if strings.Contains(hosts.exec(t, 0, "pgrep -x redis-server"), "\n") {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatal("the run did not start redis on the first host within 2 minutes")
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if out := hosts.exec(t, 0, "ls /var/lib/lockstorm"); strings.TrimSpace(out) == "" {
			t.Fatal("the killed run left no run directory, so the test shows nothing")
		}
		// What is not lockstorm's stays: a process, a chain and a rule, a
		// directory.
		hosts.exec(t, 0, decoyScript)
		clean := exec.Command(bin, "clean", "--hosts", hosts.inventory, "--accept-new-host-keys")
		if out, err := clean.CombinedOutput(); err != nil {
			t.Fatalf("lockstorm clean --hosts: %v\n%s", err, out)
		} else {
			t.Logf("lockstorm clean --hosts: %s", out)
		}
		hosts.assertClean(t, "after SIGKILL and clean --hosts")
		if out := strings.TrimSpace(hosts.exec(t, 0, decoyCheckScript)); out != "decoys intact" {
			t.Errorf("lockstorm clean --hosts touched what is not lockstorm's:\n%s", out)
		}
	})
}
