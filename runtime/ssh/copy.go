package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/lockstorm/lockstorm/runtime"
)

// copyInScript unpacks a tar from standard input into a directory it
// makes, and renames the copied base name if asked:
// sh -c copyInScript sh DIR BASE NAME.
const copyInScript = `mkdir -p "$1" && tar -x -p --no-same-owner -C "$1" && { [ "$2" = "$3" ] || mv -f "$1/$2" "$1/$3"; }`

// copyOutScript writes a tar of a path to standard output, or exits 3
// when there is nothing there: sh -c copyOutScript sh PATH.
const copyOutScript = `[ -e "$1" ] || [ -L "$1" ] || { echo "no such path: $1" >&2; exit 3; }
cd "$(dirname "$1")" && exec tar -c -f - -- "$(basename "$1")"`

// CopyTo implements runtime.Cluster: a tar of hostPath unpacked on the
// node's machine in dir, which is created. On a client machine, dir may
// be moved into the run directory (see clientPrefixes).
func (c *cluster) CopyTo(ctx context.Context, node, hostPath, dir string) error {
	p, err := c.place(node)
	if err != nil {
		return err
	}
	if err := c.copyTo(ctx, p, hostPath, p.move(dir), filepath.Base(filepath.Clean(hostPath))); err != nil {
		return fmt.Errorf("copy %s to %s:%s: %w", hostPath, node, dir, err)
	}
	return nil
}

func (c *cluster) copyTo(ctx context.Context, p *place, hostPath, dir, name string) error {
	var buf bytes.Buffer
	if err := runtime.TarPath(&buf, hostPath); err != nil {
		return err
	}
	base := filepath.Base(filepath.Clean(hostPath))
	var serr bytes.Buffer
	code, err := p.m.run(ctx, rootLine(p.sudo, copyInScript, dir, base, name), &buf, io.Discard, &serr)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr.String()))
	}
	return err
}

// CopyFrom implements runtime.Cluster: a tar of path on the node's
// machine, unpacked under hostDir (runtime.ExtractTar: regular files and
// directories only, nothing outside hostDir). It works on killed nodes
// too.
func (c *cluster) CopyFrom(ctx context.Context, node, srcPath, hostDir string) error {
	p, err := c.place(node)
	if err != nil {
		return err
	}
	src := p.move(path.Clean(srcPath))
	pr, pw := io.Pipe()
	var serr bytes.Buffer
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := p.m.run(ctx, rootLine(p.sudo, copyOutScript, src), nil, pw, &serr)
		pw.Close()
		done <- result{code, err}
	}()
	xerr := runtime.ExtractTar(pr, hostDir, c.log.With("node", node))
	_, _ = io.Copy(io.Discard, pr)
	r := <-done
	switch {
	case r.err != nil:
		return fmt.Errorf("copy %s:%s: %w", node, srcPath, r.err)
	case r.code == 3:
		return fmt.Errorf("copy %s:%s: %w", node, srcPath, runtime.ErrNoSuchPath)
	case r.code != 0:
		return fmt.Errorf("copy %s:%s: exit status %d: %s", node, srcPath, r.code, strings.TrimSpace(serr.String()))
	case xerr != nil:
		return fmt.Errorf("copy %s:%s to %s: %w", node, srcPath, hostDir, xerr)
	}
	return nil
}
