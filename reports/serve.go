package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Serve returns a read-only HTTP handler that browses the store directory
// dir. "/" lists the runs (newest first, with their verdicts) and the
// campaigns; every other path serves a file or directory under dir. Only
// GET and HEAD are allowed. Paths that could leave the store are refused:
// ".." segments, encoded or double-encoded dots and slashes, backslashes,
// NUL bytes, and symlinks whose target lies outside the store (a symlink
// inside it, such as store/latest, is fine).
func Serve(dir string) http.Handler { return &server{dir: dir} }

type server struct{ dir string }

// csp keeps every page from loading anything: reports are self-contained,
// and a hostile value that slipped through escaping still could not
// fetch or send anything.
const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the store is read-only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	name, ok := cleanName(r)
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	if name == "." {
		s.serveIndex(w, r)
		return
	}
	f, err := s.open(name)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, escapeSeg(path.Base(name))+"/", http.StatusMovedPermanently)
			return
		}
		if idx, err := s.open(name + "/index.html"); err == nil {
			defer idx.Close()
			if ifi, err := idx.Stat(); err == nil && ifi.Mode().IsRegular() {
				h.Set("Content-Type", "text/html; charset=utf-8")
				http.ServeContent(w, r, "index.html", ifi.ModTime(), idx)
				return
			}
		}
		s.serveDir(w, r, name, f)
		return
	}
	if !fi.Mode().IsRegular() {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	switch path.Ext(name) {
	case ".jsonl", ".log", ".txt", ".out", ".err":
		h.Set("Content-Type", "text/plain; charset=utf-8")
	case ".json":
		h.Set("Content-Type", "application/json")
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// cleanName turns the request path into a name relative to the store, or
// reports that the path is not acceptable. It refuses rather than cleans:
// a request that needs cleaning is not one a report link would make.
func cleanName(r *http.Request) (string, bool) {
	p := r.URL.Path
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.ContainsAny(p, "\\\x00%") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return "", false // a '%' left after decoding means double encoding
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return "", false
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return ".", true
	}
	name := strings.Join(segs, "/")
	return name, fs.ValidPath(name)
}

// open opens name inside the store. Symlinks may be followed only while they
// stay inside the store: os.Root enforces that for relative links, and an
// absolute link is accepted only when its resolved target is under the
// store's resolved root.
func (s *server) open(name string) (*os.File, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	base, err1 := filepath.EvalSymlinks(s.dir)
	real, err2 := filepath.EvalSymlinks(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err1 != nil || err2 != nil {
		return nil, err
	}
	rel, err3 := filepath.Rel(base, real)
	if err3 != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%s leaves the store: %w", name, fs.ErrPermission)
	}
	inner, err := os.OpenRoot(base)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer inner.Close()
	return inner.Open(filepath.ToSlash(rel))
}

// A dirEntry is one row of a directory listing.
type dirEntry struct {
	Name, Href, Size, Modified string
	Dir                        bool
}

type dirPage struct {
	Path    string
	Entries []dirEntry
	Common
}

func (s *server) serveDir(w http.ResponseWriter, r *http.Request, name string, f *os.File) {
	ents, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "cannot list directory", http.StatusInternalServerError)
		return
	}
	p := dirPage{Path: name, Common: common()}
	for _, e := range ents {
		de := dirEntry{Name: e.Name(), Href: escapeSeg(e.Name())}
		if info, err := e.Info(); err == nil {
			de.Modified = info.ModTime().UTC().Format(time.DateTime)
			de.Size = fmt.Sprint(info.Size())
		}
		if e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
			if sub, err := s.open(name + "/" + e.Name()); err == nil {
				if fi, err := sub.Stat(); err == nil && fi.IsDir() {
					de.Dir, de.Href, de.Size = true, de.Href+"/", ""
				}
				sub.Close()
			}
		}
		p.Entries = append(p.Entries, de)
	}
	s.render(w, r, "dir.html", p)
}

// render executes a template into memory and serves it, so that HEAD and
// errors behave like for files.
func (s *server) render(w http.ResponseWriter, r *http.Request, tmpl string, data any) {
	var buf bytes.Buffer
	if err := writePage(&buf, tmpl, data); err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, tmpl, time.Time{}, bytes.NewReader(buf.Bytes()))
}
