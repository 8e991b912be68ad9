package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Version is bumped by hand when the way the image is built changes in a way
// that the build inputs do not show; it is part of the image hash.
const Version = "1"

// aptConf is installed as /etc/apt/apt.conf.d/90lockstorm. Release files on
// snapshot mirrors carry an expired Valid-Until; signatures are still checked.
const aptConf = `Acquire::Check-Valid-Until "false";
Acquire::Retries "3";
Acquire::Languages "none";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
`

//go:embed files
var embedded embed.FS

// input is one file of the build context.
type input struct {
	name string
	data []byte
}

// PackagesEnv names the environment variable that lists the extra Debian
// packages the node image gets, separated by spaces or commas, for the
// clients a user brings (python3-requests, say).
const PackagesEnv = "LOCKSTORM_IMAGE_PACKAGES"

// packageName is what a Debian package name may look like.
var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// ErrBadPackages is returned when PackagesEnv holds something that is not
// a Debian package name: bad input (exit code 3), refused before anything
// is built.
var ErrBadPackages = errors.New("not a list of Debian package names")

// ExtraPackages returns the sorted, distinct packages of PackagesEnv, or
// an error wrapping ErrBadPackages that names the variable, its whole
// value and the word that is not a package name.
func ExtraPackages() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	value := os.Getenv(PackagesEnv)
	for _, p := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !packageName.MatchString(p) {
			return nil, fmt.Errorf("%s=%q: %w: %q is not a package name", PackagesEnv, value, ErrBadPackages, p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// buildInputs returns every file of the build context, sorted by name: the
// embedded Dockerfile and sources, the apt files generated from src, and
// the list of extra packages.
func buildInputs(src Sources) ([]input, error) {
	var in []input
	err := fs.WalkDir(embedded, "files", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embedded.ReadFile(path)
		if err != nil {
			return err
		}
		in = append(in, input{name: d.Name(), data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded files: %w", err)
	}
	extra, err := ExtraPackages()
	if err != nil {
		return nil, err
	}
	var list strings.Builder
	for _, p := range extra {
		list.WriteString(p + "\n")
	}
	in = append(in,
		input{name: "sources.list", data: []byte(src.SourcesList())},
		input{name: "90lockstorm", data: []byte(aptConf)},
		input{name: "extra-packages", data: []byte(list.String())},
	)
	sort.Slice(in, func(i, j int) bool { return in[i].name < in[j].name })
	return in, nil
}

// hashInputs returns the first 12 hex digits of a SHA-256 over the version
// and every input's name and content (each length-prefixed).
func hashInputs(version string, in []input) string {
	h := sha256.New()
	fmt.Fprintf(h, "lockstorm-node %d:%s\n", len(version), version)
	for _, f := range in {
		fmt.Fprintf(h, "%d:%s %d:", len(f.name), f.name, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// contextTar packs the inputs into the tar stream that ImageBuild reads. The
// modification times are fixed so that the same inputs give the same tar.
func contextTar(in []input) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range in {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

// File returns an embedded build input by its name in files/, such as
// the clock shim's sources (clockshim.c, lockstorm-clock.c), for hosts
// that build the shim themselves (runtime/ssh's Prepare).
func File(name string) ([]byte, error) {
	b, err := embedded.ReadFile("files/" + name)
	if err != nil {
		return nil, fmt.Errorf("embedded file %s: %w", name, err)
	}
	return b, nil
}
