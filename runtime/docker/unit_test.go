package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/runtime"
)

func TestPickSubnetSkipsUsedPrefixes(t *testing.T) {
	first, err := pickSubnet("run", nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Bits() != 24 || !subnetPools[0].Contains(first.Addr()) {
		t.Fatalf("pickSubnet = %s, want a /24 of %s", first, subnetPools[0])
	}
	second, err := pickSubnet("run", []netip.Prefix{first})
	if err != nil || second == first {
		t.Fatalf("with %s used, pickSubnet = %s, %v", first, second, err)
	}
	// A route covering the whole first pool moves the pick to the second.
	third, err := pickSubnet("run", []netip.Prefix{subnetPools[0]})
	if err != nil || !subnetPools[1].Contains(third.Addr()) {
		t.Fatalf("with %s used, pickSubnet = %s, %v", subnetPools[0], third, err)
	}
	if _, err := pickSubnet("run", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); !errors.Is(err, errNoSubnet) {
		t.Fatalf("with 10.0.0.0/8 used, pickSubnet err = %v, want errNoSubnet", err)
	}
}

func TestNodeAddresses(t *testing.T) {
	p := netip.MustParsePrefix("10.213.7.0/24")
	if got := nodeIP(p, 1).String(); got != "10.213.7.11" {
		t.Errorf("nodeIP(n1) = %s", got)
	}
	if got := nodeIP(p, runtime.MaxNodes).String(); got != "10.213.7.110" {
		t.Errorf("nodeIP(n%d) = %s", runtime.MaxNodes, got)
	}
	// Client containers sit clear of the nodes, below the broadcast.
	if got := clientIP(p, 1).String(); got != "10.213.7.151" {
		t.Errorf("clientIP(c1) = %s", got)
	}
	if got := clientIP(p, runtime.MaxClients).String(); got != "10.213.7.214" {
		t.Errorf("clientIP(c%d) = %s", runtime.MaxClients, got)
	}
	if got := gatewayIP(p).String(); got != "10.213.7.1" {
		t.Errorf("gatewayIP = %s", got)
	}
}

func TestParseRoutes(t *testing.T) {
	// Two lines as Linux prints them: the default route and 172.17.0.0/16.
	const table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	got, err := parseRoutes(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16")}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("parseRoutes = %v, want %v", got, want)
	}
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func makeTar(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtractTarWritesFilesAndSkipsLinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	buf := makeTar(t,
		tarEntry{name: "logs/", typ: tar.TypeDir},
		tarEntry{name: "logs/a.log", body: "alpha", typ: tar.TypeReg},
		tarEntry{name: "logs/deep/b.log", body: "beta", typ: tar.TypeReg},
		tarEntry{name: "logs/link", link: "/etc", typ: tar.TypeSymlink},
		tarEntry{name: "logs/link/passwd", body: "evil", typ: tar.TypeReg},
	)
	if err := runtime.ExtractTar(buf, dir, orDiscard(nil)); err != nil {
		t.Fatalf("extractTar: %v", err)
	}
	assertFile(t, filepath.Join(dir, "logs/a.log"), "alpha")
	assertFile(t, filepath.Join(dir, "logs/deep/b.log"), "beta")
	// The link was skipped, so the file behind it landed in a plain directory.
	if fi, err := os.Lstat(filepath.Join(dir, "logs/link")); err != nil || !fi.IsDir() {
		t.Fatalf("logs/link: %v, %v; want a plain directory", fi, err)
	}
	assertFile(t, filepath.Join(dir, "logs/link/passwd"), "evil")
}

func TestExtractTarRejectsPathTraversal(t *testing.T) {
	for _, name := range []string{"../escape", "a/../../escape", "/abs/escape"} {
		base := t.TempDir()
		dir := filepath.Join(base, "out")
		buf := makeTar(t, tarEntry{name: name, body: "x", typ: tar.TypeReg})
		if err := runtime.ExtractTar(buf, dir, orDiscard(nil)); !errors.Is(err, runtime.ErrUnsafePath) {
			t.Errorf("%q: extractTar = %v, want ErrUnsafePath", name, err)
		}
		if _, err := os.Stat(filepath.Join(base, "escape")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: a file landed outside the destination", name)
		}
	}
}

func TestExtractTarDoesNotFollowExistingLinks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "out")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	buf := makeTar(t, tarEntry{name: "logs/a.log", body: "x", typ: tar.TypeReg})
	if err := runtime.ExtractTar(buf, dir, orDiscard(nil)); err == nil {
		t.Error("extractTar wrote through a link that leaves the destination")
	}
	if _, err := os.Stat(filepath.Join(outside, "a.log")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a file landed outside the destination")
	}
}
