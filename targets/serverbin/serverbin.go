// Package serverbin decides which executable a target runs as its server
// on the nodes: Debian's, from the node image (the default); a version
// built from the server's Go module with the host's Go, once, and cached by
// version in the user's cache directory (--opt etcd.version=3.7.3); or the
// user's own file (--opt etcd.binary=PATH).
//
// A target that offers the choice declares a Server, lists its Options,
// checks the choice in Prepare (Check), brings the executable to the
// harness's machine in Provision (before the run's cluster and its clock
// start: a build takes a minute) and copies it onto the nodes in Setup
// (Install), where it checks that it runs before any server starts.
package serverbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Debian is the value of a version option that keeps Debian's server, from
// the node image.
const Debian = "debian"

// InstallDir is where Install puts a chosen executable on a node. It comes
// before /usr/bin and /usr/sbin on the nodes' PATH, so a target that starts
// its server by name runs the chosen one.
const InstallDir = "/usr/local/bin"

// A Server is a server executable that a target may replace.
type Server struct {
	// Name is the executable's name on the nodes and its process name
	// ("etcd", "nats-server", "redis-server").
	Name string
	// Owner is the prefix of its options: "etcd" gives etcd.version and
	// etcd.binary.
	Owner string
	// Aliases are further names the executable is installed under on the
	// nodes (redis-sentinel is redis-server under another name).
	Aliases []string
	// Module, if set, builds a version from Go source, and the option
	// <Owner>.version exists.
	Module *Module
	// VersionArgs make the executable print its version and exit: how
	// Install checks that it runs on a node.
	VersionArgs []string
}

// A Module says how to build a version of a server written in Go.
type Module struct {
	// Path is the module whose version is asked for:
	// "go.etcd.io/etcd/server/v3".
	Path string
	// Runner, if set, is the import path of a package of that module with
	// a func Main(args []string) that runs the server; lockstorm writes a
	// main package that calls it and builds that. Modules whose own main
	// package go install refuses (etcd's go.mod has replace directives)
	// need it. Without it, lockstorm runs go install Path@version.
	Runner string
	// Known lists versions that were built and run here, for the help
	// text; any version the module proxy serves may be asked for.
	Known string
}

// VersionOption returns the declaration of <Owner>.version.
func (s *Server) VersionOption() option.Text {
	return option.Text{
		Name: s.Owner + ".version", Default: Debian,
		Help: fmt.Sprintf("the %s version to run: %s (Debian's, in the node image) or a release of %s (%s), built once with the host's Go and cached",
			s.Name, Debian, s.Module.Path, s.Module.Known),
		Valid: checkVersion,
	}
}

// BinaryOption returns the declaration of <Owner>.binary.
func (s *Server) BinaryOption() option.Text {
	return option.Text{
		Name: s.Owner + ".binary",
		Help: fmt.Sprintf("a %s executable of this machine to run on the nodes in place of Debian's (a Linux binary for the nodes' architecture)", s.Name),
		Valid: func(v string) error {
			fi, err := os.Stat(v)
			switch {
			case err != nil:
				return errors.New(strings.TrimPrefix(err.Error(), "stat "+v+": "))
			case fi.IsDir():
				return errors.New("is a directory")
			}
			return nil
		},
	}
}

// Options returns the declarations of the server's options.
func (s *Server) Options() []option.Declaration {
	if s.Module == nil {
		return []option.Declaration{s.BinaryOption()}
	}
	return []option.Declaration{s.VersionOption(), s.BinaryOption()}
}

// versionPattern is a semantic version, with or without its v.
var versionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][0-9A-Za-z.-]*)?$`)

func checkVersion(v string) error {
	if v == Debian || versionPattern.MatchString(v) {
		return nil
	}
	return fmt.Errorf("want %s or a release version such as 3.7.3", Debian)
}

// A Choice is the server that a run's options choose.
type Choice struct {
	// Version is the version to build, without its v; "" keeps Debian's.
	Version string
	// Binary is the user's executable; "" for none.
	Binary string
}

// Debian reports whether the choice is Debian's server.
func (c Choice) Debian() bool { return c.Version == "" && c.Binary == "" }

// Check returns what the options choose, or an error (an option error:
// bad input) when they name two servers.
func (s *Server) Check(opts option.Values) (Choice, error) {
	var c Choice
	if s.Module != nil {
		if v, ok := s.VersionOption().Lookup(opts); ok && v != Debian {
			c.Version = strings.TrimPrefix(v, "v")
		}
	}
	c.Binary, _ = s.BinaryOption().Lookup(opts)
	if c.Version != "" && c.Binary != "" {
		return Choice{}, option.Errorf("%s.version=%s and %s.binary=%s name two servers; give one", s.Owner, c.Version, s.Owner, c.Binary)
	}
	return c, nil
}

// Provide brings the executable that p's options choose to this machine:
// it builds a version (or finds its build in the cache) or checks the
// user's file. It returns the executable's path here, "" for Debian's. A
// version that does not exist wraps targets.ErrUnknownVersion; a file
// that cannot run on the nodes wraps targets.ErrCannotRun. say receives
// what a person at the terminal should know (a build takes a minute).
func (s *Server) Provide(ctx context.Context, p *plan.Plan, say func(string)) (string, error) {
	c, err := s.Check(p.Options)
	switch {
	case err != nil:
		return "", err
	case c.Binary != "":
		path, err := filepath.Abs(c.Binary)
		if err != nil {
			return "", err
		}
		if err := CheckExecutable(path); err != nil {
			return "", fmt.Errorf("%s.binary: %w", s.Owner, err)
		}
		return path, nil
	case c.Version != "":
		path, err := s.build(ctx, c.Version, say)
		if err != nil {
			return "", fmt.Errorf("%s.version=%s: %w", s.Owner, c.Version, err)
		}
		return path, nil
	}
	return "", nil
}

// Install copies the executable at hostPath onto every node as
// InstallDir/<Name> (and its aliases), and checks that it runs there: a
// binary that lacks a library of the node image is refused with the
// loader's message, naming the file. It returns what the executable says
// its version is. An empty hostPath installs nothing.
func (s *Server) Install(ctx context.Context, c runtime.Cluster, nodes []string, hostPath string) (string, error) {
	if hostPath == "" {
		return "", nil
	}
	var said string
	for _, node := range nodes {
		if err := c.CopyTo(ctx, node, hostPath, InstallDir); err != nil {
			return "", fmt.Errorf("copy %s onto %s: %w", hostPath, node, err)
		}
		target := InstallDir + "/" + s.Name
		script := ""
		if base := filepath.Base(hostPath); base != s.Name {
			script = fmt.Sprintf("mv -f %s %s && ", shellQuote(InstallDir+"/"+base), target)
		}
		script += "chmod 755 " + target
		for _, a := range s.Aliases {
			script += fmt.Sprintf(" && ln -sf %s %s/%s", target, InstallDir, a)
		}
		if _, err := targets.Sh(ctx, c, node, script); err != nil {
			return "", fmt.Errorf("install %s on %s: %w", hostPath, node, err)
		}
		res, err := c.Exec(ctx, node, append([]string{target}, s.VersionArgs...), runtime.ExecOptions{})
		if err != nil {
			return "", fmt.Errorf("run %s on %s: %w", hostPath, node, err)
		}
		if res.ExitCode != 0 {
			msg := strings.TrimSpace(res.Stderr + "\n" + res.Stdout)
			return "", cannotRunError{fmt.Errorf("%s does not run on %s (exit status %d): %s", hostPath, node, res.ExitCode, msg)}
		}
		said = firstLine(res.Stdout + res.Stderr)
	}
	return said, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
