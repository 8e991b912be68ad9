package ssh

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
)

func writeInventory(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "id_test"), []byte("not read at load"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadInventoryReadsHostsInOrder(t *testing.T) {
	p := writeInventory(t, `known_hosts: kh
hosts:
  - {name: s1, address: 10.0.0.1, user: root, key: id_test, role: server}
  - address: 10.0.0.2
    port: 2222
    user: ops
    agent: true
    sudo: true
    role: server
  - {address: 10.0.0.3, user: root, key: id_test, role: client}
`)
	inv, err := LoadInventory(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if inv.KnownHosts != filepath.Join(dir, "kh") {
		t.Errorf("known_hosts %q", inv.KnownHosts)
	}
	s := inv.Servers()
	if len(s) != 2 || s[0].Name != "s1" || s[1].Name != "10.0.0.2" || s[1].Port != 2222 || !s[1].Sudo || !s[1].Agent || s[0].Port != 22 {
		t.Errorf("servers %+v", s)
	}
	if s[0].Key != filepath.Join(dir, "id_test") || s[0].Line != 3 || s[1].Line != 4 {
		t.Errorf("key %q line %d/%d", s[0].Key, s[0].Line, s[1].Line)
	}
	if c := inv.ClientHosts(); len(c) != 1 || c[0].Address != "10.0.0.3" {
		t.Errorf("clients %+v", c)
	}
}

func TestLoadInventoryNamesFileAndLineOfEachError(t *testing.T) {
	head := "hosts:\n"
	good := "  - {address: 10.0.0.1, user: root, key: id_test, role: server}\n"
	for _, tc := range []struct{ body, want string }{
		{"", "the file is empty"},
		{"hosts: [\n", ":1: did not find expected node content"},
		{"hostz: []\n", `:1: unknown field "hostz"`},
		{head + good + "  - {address: 10.0.0.2, user: root, key: id_test, role: server, colour: red}\n", `:3: unknown field "colour" in a host`},
		{head + "  - {user: root, key: id_test, role: server}\n", ":2: a host needs an address"},
		{head + "  - {address: h, key: id_test, role: server}\n", ":2: host h needs a user"},
		{head + "  - {address: h, user: u, key: id_test}\n", ":2: host h needs a role"},
		{head + "  - {address: h, user: u, key: id_test, role: boss}\n", `:2: role: "boss" is not server or client`},
		{head + "  - {address: h, user: u, role: server}\n", ":2: host h needs a key file"},
		{head + "  - {address: h, user: u, key: missing, role: server}\n", ":2: host h: key file:"},
		{head + "  - {address: h, user: u, key: id_test, agent: true, role: server}\n", "not both"},
		{head + "  - {address: h, user: u, key: id_test, role: server, port: 70000}\n", `:2: port: "70000" is not a port number`},
		{head + "  - {address: h, user: u, key: id_test, role: server, sudo: maybe}\n", `:2: sudo: "maybe" is not true or false`},
		{head + good + good, ":3: host \"10.0.0.1\" is listed twice (first at line 2)"},
		{head + "  - {address: h, user: u, key: id_test, role: client}\n", ":1: no host has role: server"},
		{"- a\n", ":1: want a mapping"},
	} {
		p := writeInventory(t, tc.body)
		_, err := LoadInventory(p)
		if !errors.Is(err, ErrBadInventory) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: err = %v; want ErrBadInventory naming %s and %q", tc.body, err, p, tc.want)
		}
	}
}

func TestQuotedArgvSurvivesTheShell(t *testing.T) {
	argv := []string{"printf", `%s|`, "two words", `it's`, `$HOME`, "back`tick`", `"dq"`, "", "a\nb", "*"}
	out, err := exec.Command("sh", "-c", QuoteArgs(argv)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(argv[2:], "|") + "|"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if Quote("plain/path-1.2") != "plain/path-1.2" {
		t.Error("a plain word is quoted")
	}
}

func TestCommandLinesCarryMarkerEnvAndSudo(t *testing.T) {
	got := commandLine("r1", true, "postgres", []string{"A=b c"}, []string{"initdb", "-D", "/x y"})
	want := "cd / && exec sudo -n -u postgres env LOCKSTORM_RUN=r1 PATH=" + NodePATH + " 'A=b c' initdb -D '/x y'"
	if got != want {
		t.Errorf("commandLine:\n got %s\nwant %s", got, want)
	}
	if got := commandLine("r1", false, "", nil, []string{"true"}); got != "cd / && exec env LOCKSTORM_RUN=r1 PATH="+NodePATH+" true" {
		t.Errorf("commandLine without sudo: %s", got)
	}
	if !reflect.DeepEqual(sudoArgs(false, "999:998"), []string{"sudo", "-n", "-u", "#999", "-g", "#998"}) {
		t.Errorf("numeric user: %v", sudoArgs(false, "999:998"))
	}
	d := detachLine("r1", "/var/lib/lockstorm/r1", true, "", nil, []string{"redis-server"})
	if !strings.HasPrefix(d, "exec sudo -n sh -c ") || !strings.HasSuffix(d, " sh /var/lib/lockstorm/r1 env LOCKSTORM_RUN=r1 PATH="+NodePATH+" redis-server") {
		t.Errorf("detachLine: %s", d)
	}
}

func TestChainScriptRemovesEveryLockstormChainAndNothingElse(t *testing.T) {
	s := ChainScript()
	for _, c := range runtime.Chains {
		for _, h := range c.Hooks {
			if !strings.Contains(s, "-t "+c.Table+" -D "+h+" -j "+c.Name) {
				t.Errorf("no removal of the jump %s -> %s", h, c.Name)
			}
		}
		if !strings.Contains(s, "-t "+c.Table+" -X "+c.Name) {
			t.Errorf("chain %s is not deleted", c.Name)
		}
	}
	for line := range strings.Lines(s) {
		if strings.Contains(line, "iptables ") && !strings.Contains(line, "LOCKSTORM-") && !strings.Contains(line, "command -v") {
			t.Errorf("a line touches rules that are not lockstorm's: %s", line)
		}
	}
	for _, sc := range []string{ChainScript(), CleanupScript(), SignalScript, SetupScript, ListScript, CheckScript, detachScript, copyInScript, copyOutScript, prepareScript} {
		if out, err := exec.Command("sh", "-n", "-c", sc).CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v: %s\n%s", err, out, sc)
		}
	}
}

func TestClientPlacementIsRoundRobin(t *testing.T) {
	if got := ClientPlacement(5, 2); !reflect.DeepEqual(got, []int{0, 1, 0, 1, 0}) {
		t.Errorf("5 clients on 2 hosts: %v", got)
	}
	p := &place{relocate: [][2]string{{"/opt/lockstorm/bin/lockstorm", "/d/root/opt/lockstorm/bin/lockstorm"}, {"/opt/lockstorm/", "/d/root/opt/lockstorm/"}}}
	got := p.moveArgs([]string{"/opt/lockstorm/bin/lockstorm", "relay", "--pid-file", "/opt/lockstorm/x/p1.pid", "/opt/lockstormy"})
	want := []string{"/d/root/opt/lockstorm/bin/lockstorm", "relay", "--pid-file", "/d/root/opt/lockstorm/x/p1.pid", "/opt/lockstormy"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("moveArgs = %v", got)
	}
}

func TestParseListReadsRunsAndLabels(t *testing.T) {
	h := Host{Name: "s1"}
	got := parseList(h, "run a-1\nlockstorm.run=a-1\nlockstorm.owner=boot=x,pid=3\n\nrun b\n\n")
	if len(got) != 2 || got[0].runID != "a-1" || got[0].labels[runtime.LabelOwner] != "boot=x,pid=3" || got[1].runID != "b" {
		t.Errorf("parseList = %+v", got)
	}
}

// localCluster is a cluster whose one client, c1, is this machine, as
// when the inventory has no client host.
func localCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	id := "unit-" + filepath.Base(dir)
	p := &place{m: localMachine{}, dir: filepath.Join(dir, "run")}
	c := &cluster{runID: id, byName: map[string]*place{"c1": p}, clients: []runtime.NodeInfo{{Name: "c1", IP: "127.0.0.1"}}}
	c.log = discard()
	if err := c.setup(context.Background(), map[string]string{runtime.LabelRun: id}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocalClientExecKillAndTeardown(t *testing.T) {
	ctx := context.Background()
	c := localCluster(t)
	res, err := c.Exec(ctx, "c1", []string{"sh", "-c", `echo "$LOCKSTORM_RUN $X"; echo e >&2; exit 3`}, runtime.ExecOptions{Env: []string{"X=y z"}})
	if err != nil || res.Stdout != c.runID+" y z\n" || res.Stderr != "e\n" || res.ExitCode != 3 {
		t.Fatalf("Exec = %+v, %v", res, err)
	}
	if _, err := c.Exec(ctx, "c1", []string{"sh", "-c", "sleep 60 & exec sleep 60"}, runtime.ExecOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		out, _, _, err := runOut(ctx, localMachine{}, rootLine(false, runPIDs+`pids "$1" "$2" | sort -u | wc -l`, c.runID, c.byName["c1"].dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		_, _ = fmtSscan(out, &n)
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(); n < 2 {
		t.Fatalf("%d processes of the run found, want the 2 sleeps", n)
	}
	if err := c.Kill(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d processes left after Kill", n)
	}
	if _, err := c.Exec(ctx, "c1", []string{"true"}, runtime.ExecOptions{}); err == nil {
		t.Error("Exec on a killed node succeeded")
	}
	if err := c.Restart(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "c1", []string{"iptables-restore", "-w"}, runtime.ExecOptions{}); !errors.Is(err, ErrNoClientHosts) {
		t.Errorf("iptables-restore on this machine: %v, want ErrNoClientHosts", err)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.byName["c1"].dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run directory is still there: %v", err)
	}
}

func TestLocalCopyToAndFromKeepModes(t *testing.T) {
	ctx := context.Background()
	c := localCluster(t)
	src := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(c.byName["c1"].dir, "in")
	if err := c.CopyTo(ctx, "c1", src, dst); err != nil {
		t.Fatal(err)
	}
	back := t.TempDir()
	if err := c.CopyFrom(ctx, "c1", filepath.Join(dst, "tree"), back); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(back, "tree", "sub", "run.sh"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("copied file: %v, %v; want it executable", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(back, "tree", "link")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symbolic link was copied back: %v", err)
	}
	if err := c.CopyFrom(ctx, "c1", "/no/such/path", back); !errors.Is(err, runtime.ErrNoSuchPath) {
		t.Errorf("CopyFrom of a missing path: %v", err)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
}

// A server started through sudo -u runs in sudo's session with an
// environment that root may not read: the run's processes are found by
// the session of the process recorded, not only by the marker. Here the
// child drops its environment (env -i), so only its session names it.
func TestLocalProcessesFoundBySessionWithoutMarker(t *testing.T) {
	ctx := context.Background()
	c := localCluster(t)
	if _, err := c.Exec(ctx, "c1", []string{"sh", "-c", "env -i /bin/sleep 61 & exec sleep 60"}, runtime.ExecOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	list := func() string {
		out, _, _, err := runOut(ctx, localMachine{}, rootLine(false, runPIDs+`for p in $(pids "$1" "$2" | sort -u); do tr '\0' ' ' </proc/$p/cmdline; echo; done`, c.runID, c.byName["c1"].dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(list(), "sleep 61") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if out := list(); !strings.Contains(out, "sleep 61") || !strings.Contains(out, "sleep 60") {
		t.Fatalf("the run's processes:\n%s\nwant both sleeps, the one without the marker by its session", out)
	}
	if err := c.Kill(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if out := strings.TrimSpace(list()); out != "" {
		t.Errorf("left after Kill:\n%s", out)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
}
