package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestHashChangesWithEveryInput(t *testing.T) {
	src := Sources{Mirror: "http://a.example/debian", Updates: true}
	in, err := buildInputs(src)
	if err != nil {
		t.Fatal(err)
	}
	base := hashInputs(Version, in)
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(base) {
		t.Fatalf("hash %q is not 12 hex digits", base)
	}
	if again := hashInputs(Version, in); again != base {
		t.Fatalf("hash not stable: %s then %s", base, again)
	}
	names := map[string]bool{}
	for i := range in {
		names[in[i].name] = true
		changed := append([]input(nil), in...)
		changed[i].data = append(append([]byte(nil), in[i].data...), '\n')
		if h := hashInputs(Version, changed); h == base {
			t.Errorf("hash unchanged after editing %s", in[i].name)
		}
	}
	for _, want := range []string{"Dockerfile", "clockshim.c", "lockstorm-clock.c", "sources.list"} {
		if !names[want] {
			t.Errorf("build inputs lack %s", want)
		}
	}
	if h := hashInputs(Version+"x", in); h == base {
		t.Error("hash unchanged after a version change")
	}
	other, err := buildInputs(Sources{Mirror: "http://b.example/debian", Updates: true})
	if err != nil {
		t.Fatal(err)
	}
	if h := hashInputs(Version, other); h == base {
		t.Error("hash unchanged after a mirror change")
	}
}

func TestTagForNamesRepoAndHash(t *testing.T) {
	tag, in, err := tagFor(Sources{Mirror: "http://a.example/debian"})
	if err != nil {
		t.Fatal(err)
	}
	if want := Repo + ":" + hashInputs(Version, in); tag != want {
		t.Fatalf("tag %q, want %q", tag, want)
	}
}

func TestContextTarHoldsInputs(t *testing.T) {
	in, err := buildInputs(Sources{Mirror: "http://a.example/debian"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := contextTar(in)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			if i != len(in) {
				t.Fatalf("tar has %d files, want %d", i, len(in))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if hdr.Name != in[i].name || !bytes.Equal(data, in[i].data) {
			t.Fatalf("tar entry %d = %s (%d bytes), want %s (%d bytes)", i, hdr.Name, len(data), in[i].name, len(in[i].data))
		}
	}
	b2, _ := contextTar(in)
	if !bytes.Equal(b, b2) {
		t.Fatal("context tar differs between two calls with the same inputs")
	}
}

// The daemon's error ends the stream: it is returned, and written as the
// output's last line, so that the build log and its tail show it.
func TestCopyMessagesReportsDaemonError(t *testing.T) {
	var out bytes.Buffer
	stream := `{"stream":"Step 1/2 : FROM x\n"}{"status":"Downloading","id":"abc"}` +
		`{"errorDetail":{"message":"boom"},"error":"boom"}{"stream":"never\n"}`
	err := copyMessages(bytes.NewBufferString(stream), &out)
	if err == nil || err.Error() != "boom" {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, want := out.String(), "Step 1/2 : FROM x\nabc: Downloading\nerror: boom\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

// A LOCKSTORM_IMAGE_PACKAGES word that is not a package name is refused
// with ErrBadPackages, naming the variable, its value and the word; a
// clean list is split, sorted and made distinct.
func TestExtraPackagesRefusesShellMetacharacters(t *testing.T) {
	for _, value := range []string{"python3-requests; rm -rf /", "a,$(id)", "x`y`", "p>q", "Upper"} {
		t.Setenv(PackagesEnv, value)
		_, err := ExtraPackages()
		if !errors.Is(err, ErrBadPackages) {
			t.Errorf("%q: err = %v, want ErrBadPackages", value, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, PackagesEnv) || !strings.Contains(msg, fmt.Sprintf("%q", value)) {
			t.Errorf("%q: message %q does not name the variable and the value", value, msg)
		}
	}
	t.Setenv(PackagesEnv, "python3-requests, jq python3-requests\tg++")
	got, err := ExtraPackages()
	if err != nil || strings.Join(got, " ") != "g++ jq python3-requests" {
		t.Errorf("ExtraPackages = %v, %v; want [g++ jq python3-requests]", got, err)
	}
}
