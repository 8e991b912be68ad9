package serverbin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// BuildTimeout bounds one build: downloading a module and its
// dependencies and compiling a server takes one or two minutes here.
const BuildTimeout = 15 * time.Minute

// CacheDir returns the directory of the cached builds: lockstorm/servers
// in the user's cache directory ($XDG_CACHE_HOME or ~/.cache on Linux).
// $LOCKSTORM_SERVER_CACHE overrides it.
func CacheDir() (string, error) {
	if d := os.Getenv("LOCKSTORM_SERVER_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for server builds: %w", err)
	}
	return filepath.Join(d, "lockstorm", "servers"), nil
}

// CachedPath returns where the build of version is cached, for the nodes'
// operating system and this machine's architecture.
func (s *Server) CachedPath(version string) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, fmt.Sprintf("%s-%s-linux-%s", s.Name, version, goruntime.GOARCH), s.Name), nil
}

// builds serialises the builds of one executable in this process: a
// campaign asks for the same version for many runs, and the first build
// serves them all.
var builds sync.Map // cached path -> *sync.Mutex

// build returns the cached build of version, building it first if needed.
func (s *Server) build(ctx context.Context, version string, say func(string)) (string, error) {
	out, err := s.CachedPath(version)
	if err != nil {
		return "", err
	}
	mu, _ := builds.LoadOrStore(out, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		say(fmt.Sprintf("%s %s: the build cached in %s", s.Name, version, filepath.Dir(out)))
		return out, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s %s needs the go command on PATH (https://go.dev/dl/): %w", s.Name, version, err)
	}
	goVersion := hostGoVersion(ctx, goBin)
	say(fmt.Sprintf("building %s %s from %s@v%s with %s; once: the build is cached in %s",
		s.Name, version, s.Module.Path, version, goVersion, filepath.Dir(out)))
	began := time.Now()
	cache := filepath.Dir(filepath.Dir(out))
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	bctx, cancel := context.WithTimeout(ctx, BuildTimeout)
	defer cancel()
	tmp := filepath.Join(work, s.Name)
	if err := s.goBuild(bctx, goBin, work, version, tmp); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	say(fmt.Sprintf("built %s %s in %s: %s", s.Name, version, time.Since(began).Round(time.Second), out))
	return out, nil
}

// goBuild builds version into out, in the scratch directory work.
func (s *Server) goBuild(ctx context.Context, goBin, work, version, out string) error {
	ref := s.Module.Path + "@v" + version
	run := func(dir string, env []string, args ...string) error {
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = dir
		// A static binary runs on the nodes whatever their libc; the
		// scratch module is outside any workspace of the user's.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH, "GOWORK=off", "GOFLAGS=-mod=mod")
		cmd.Env = append(cmd.Env, env...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			return goError(ref, args, buf.String(), err)
		}
		return nil
	}
	if s.Module.Runner == "" {
		// go install writes to GOBIN under the package's name, which is
		// the module's last path element without a major version.
		bin := filepath.Join(work, "bin")
		if err := run(work, []string{"GOBIN=" + bin}, "install", "-trimpath", ref); err != nil {
			return err
		}
		entries, err := os.ReadDir(bin)
		if err != nil || len(entries) != 1 {
			return fmt.Errorf("go install %s left no single executable in %s", ref, bin)
		}
		return os.Rename(filepath.Join(bin, entries[0].Name()), out)
	}
	src := filepath.Join(work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	main := fmt.Sprintf("// Written by lockstorm to build %s.\npackage main\n\nimport (\n\t\"os\"\n\n\tserver %q\n)\n\nfunc main() { server.Main(os.Args) }\n", ref, s.Module.Runner)
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(main), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module lockstorm.build/"+s.Name+"\n"), 0o644); err != nil {
		return err
	}
	if err := run(src, nil, "get", ref); err != nil {
		return err
	}
	return run(src, nil, "build", "-trimpath", "-o", out, ".")
}

// goError turns a failed go command into an error that quotes the go
// command, and wraps targets.ErrUnknownVersion when the module proxy does
// not serve the version.
func goError(ref string, args []string, output string, err error) error {
	msg := strings.TrimSpace(output)
	if lines := strings.Split(msg, "\n"); len(lines) > 12 {
		msg = strings.Join(lines[len(lines)-12:], "\n")
	}
	if msg == "" {
		msg = err.Error()
	}
	e := fmt.Errorf("go %s: %s", args[0], msg)
	if unknownVersion(output) {
		return unknownVersionError{fmt.Errorf("the module proxy does not serve %s: %w", ref, e)}
	}
	return fmt.Errorf("build %s: %w", ref, e)
}

// unknownVersion reports whether the go command's output says that the
// version does not exist (rather than that it failed to fetch or build).
func unknownVersion(output string) bool {
	for _, s := range []string{"invalid version", "unknown revision", "no matching versions", "not found: ", "404 Not Found", "410 Gone", "version is not available"} {
		if strings.Contains(output, s) {
			return true
		}
	}
	return false
}

// hostGoVersion returns what `go env GOVERSION` says, or "the host's Go".
func hostGoVersion(ctx context.Context, goBin string) string {
	out, err := exec.CommandContext(ctx, goBin, "env", "GOVERSION").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "the host's Go"
}

// unknownVersionError is a targets.ErrUnknownVersion that does not say so
// in its text.
type unknownVersionError struct{ error }

func (e unknownVersionError) Unwrap() error      { return e.error }
func (unknownVersionError) Is(target error) bool { return target == targets.ErrUnknownVersion }
