package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files under a temporary root and returns the root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const deb822Sample = `# comment line
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src-only.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.example/debian-security/
Suites: bookworm-security
Components: main
`

const vendorSample = `Types: deb
URIs: https://vendor.example/node_20.x
Suites: nodistro
Components: main
`

func TestHostSourcesReadsDeb822(t *testing.T) {
	t.Setenv(MirrorEnv, "")
	root := writeTree(t, map[string]string{
		"etc/apt/sources.list.d/aaa-vendor.sources":      vendorSample,
		"etc/apt/sources.list.d/debian.sources":          deb822Sample,
		"etc/apt/sources.list.d/old.list.disabled-by-me": "deb http://disabled.example/debian bookworm main\n",
	})
	got, err := HostSources(root, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Sources{Mirror: "http://mirror.example/debian", Updates: true, Security: "http://mirror.example/debian-security"}
	if got != want {
		t.Fatalf("HostSources = %+v, want %+v", got, want)
	}
	wantLines := []string{
		"deb http://mirror.example/debian bookworm main",
		"deb http://mirror.example/debian bookworm-updates main",
		"deb http://mirror.example/debian-security bookworm-security main",
	}
	if strings.Join(got.Lines(), "\n") != strings.Join(wantLines, "\n") {
		t.Fatalf("Lines = %q, want %q", got.Lines(), wantLines)
	}
}

func TestHostSourcesReadsOneLineFormat(t *testing.T) {
	t.Setenv(MirrorEnv, "")
	root := writeTree(t, map[string]string{
		"etc/apt/sources.list": `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://one.example/debian/ bookworm main contrib
deb http://one.example/debian-security bookworm-security main
`,
		"etc/apt/sources.list.d/vendor.list": "deb https://vendor.example/apt cloud-sdk main\n",
	})
	got, err := HostSources(root, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Sources{Mirror: "http://one.example/debian", Security: "http://one.example/debian-security"}
	if got != want {
		t.Fatalf("HostSources = %+v, want %+v", got, want)
	}
}

func TestHostSourcesSkipsDisabledStanza(t *testing.T) {
	t.Setenv(MirrorEnv, "")
	root := writeTree(t, map[string]string{
		"etc/apt/sources.list.d/debian.sources": "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n" +
			"Types: deb\nURIs: http://on.example/debian\nSuites: bookworm\n",
	})
	got, err := HostSources(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mirror != "http://on.example/debian" || got.Updates || got.Security != "" {
		t.Fatalf("HostSources = %+v, want only http://on.example/debian", got)
	}
}

func TestHostSourcesOverride(t *testing.T) {
	root := writeTree(t, map[string]string{"etc/apt/sources.list.d/debian.sources": deb822Sample})
	t.Setenv(MirrorEnv, "http://env.example/debian/")
	got, err := HostSources(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mirror != "http://env.example/debian" {
		t.Fatalf("env override: Mirror = %q", got.Mirror)
	}
	got, err = HostSources(root, "http://opt.example/debian")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mirror != "http://opt.example/debian" {
		t.Fatalf("option override: Mirror = %q", got.Mirror)
	}
	if got.Security != "http://mirror.example/debian-security" || !got.Updates {
		t.Fatalf("override dropped the host's updates/security: %+v", got)
	}
}

func TestHostSourcesNoMirror(t *testing.T) {
	t.Setenv(MirrorEnv, "")
	root := writeTree(t, map[string]string{"etc/apt/sources.list.d/vendor.sources": vendorSample})
	if _, err := HostSources(root, ""); err != ErrNoMirror {
		t.Fatalf("err = %v, want ErrNoMirror", err)
	}
}
