package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/internal/inputfile"
	"github.com/lockstorm/lockstorm/store"
)

// Serve returns a read-only HTTP handler that browses the store directory
// dir. "/" lists the runs (newest first, with their verdicts) and the
// campaigns; every other path serves a file or directory under dir. Only
// GET and HEAD are allowed. Paths that could leave the store are refused:
// ".." segments, encoded or double-encoded dots and slashes, backslashes,
// NUL bytes, and symlinks whose target lies outside the store (a symlink
// inside it, such as store/latest, is fine). Only the store's own report
// pages and the listings it generates are served as HTML (isReportPage),
// with a policy that lets only lockstorm's own scripts run (pageCSP); a
// page in their place with any other script, and every other file, is
// text/plain under plainCSP. Files are opened without
// blocking, so a FIFO in the store stalls no request.
func Serve(dir string) http.Handler { return &server{dir: dir} }

// A server serves the store at dir; now, when set, stands for the clock
// (tests), which says how long a running run has been going.
type server struct {
	dir string
	now func() time.Time
}

// maxPage bounds the report page that the server reads to hash its
// scripts: twice the largest linearizability page (maxLinPage). A larger
// page is sent as it is, with no script allowed.
const maxPage = 2 * maxLinPage

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the store is read-only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", plainCSP)
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
		if isReportDir(name) {
			if idx, err := s.open(name + "/" + store.IndexFile); err == nil {
				defer idx.Close()
				if ifi, err := idx.Stat(); err == nil && ifi.Mode().IsRegular() {
					servePage(w, r, idx, ifi)
					return
				}
			}
		}
		s.serveDir(w, r, name, f)
		return
	}
	if !fi.Mode().IsRegular() {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if isReportPage(name) {
		servePage(w, r, f, fi)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// servePage serves a report page as HTML, under a policy that allows
// lockstorm's own scripts and no other. A page with an inline script that
// is not one of lockstorm's own was not written by lockstorm: it is sent
// as text/plain under plainCSP, as any other file of the store.
func servePage(w http.ResponseWriter, r *http.Request, f *os.File, fi fs.FileInfo) {
	if fi.Size() > maxPage {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", pageCSP(false))
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPage))
	if err != nil {
		http.Error(w, "cannot read the page", http.StatusInternalServerError)
		return
	}
	if !ownScriptsOnly(b) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), bytes.NewReader(b))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP(true))
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), bytes.NewReader(b))
}

// cleanName turns the request path into a name relative to the store, or
// reports that the path is not acceptable. It refuses rather than cleans:
// a request that needs cleaning is not one a report link would make.
func cleanName(r *http.Request) (string, bool) {
	p := r.URL.Path
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.ContainsAny(p, "\\\x00") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return "", false
	}
	segs, ok := segments(p)
	if !ok {
		return "", false
	}
	// A '%' left after decoding belongs to a file name ("50%.log") or is
	// a second encoding ("%252e%252e"). The store opens names as they
	// are, but a path that a second decoding would lead elsewhere is
	// refused all the same.
	if strings.Contains(p, "%") {
		if q, err := url.PathUnescape(p); err == nil && q != p {
			again, ok := segments(q)
			if !ok || len(again) != len(segs) || strings.ContainsAny(q, "\\\x00") {
				return "", false
			}
		}
	}
	if len(segs) == 0 {
		return ".", true
	}
	name := strings.Join(segs, "/")
	return name, fs.ValidPath(name)
}

// segments splits a slash-separated path into its non-empty segments, and
// reports false when one of them is "." or "..".
func segments(p string) ([]string, bool) {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return nil, false
		}
		segs = append(segs, s)
	}
	return segs, true
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
	f, err := root.OpenFile(name, inputfile.Flags, 0)
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
	return inner.OpenFile(filepath.ToSlash(rel), inputfile.Flags, 0)
}

// A dirEntry is one row of a directory listing. Cell names the campaign
// cell of a run directory listed under its store directory ("cell
// etcd-client-pause-fenced of campaign default"); "" otherwise.
type dirEntry struct {
	Name, Href, Size, Modified string
	Cell                       string
	Dir                        bool
}

type dirPage struct {
	Path    string
	Entries []dirEntry
	// Running is the banner of a run directory whose run is still running.
	Running string
	Common
}

// isCellDir reports whether name, a path in the store, is a store
// directory of runs (<target>-<workload>-<nemesis>).
func isCellDir(name string) bool {
	return name != "" && !strings.Contains(name, "/") && name != store.CampaignsDir && name != store.MarginsDir &&
		name != store.LatestLink && !strings.HasPrefix(name, ".")
}

func (s *server) serveDir(w http.ResponseWriter, r *http.Request, name string, f *os.File) {
	ents, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "cannot list directory", http.StatusInternalServerError)
		return
	}
	p := dirPage{Path: name, Running: s.runningNote(name), Common: common()}
	var root *os.Root
	if isCellDir(name) {
		if root, err = os.OpenRoot(s.dir); err == nil {
			defer root.Close()
		}
	}
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
		if de.Dir && root != nil {
			var res store.RunResult
			if readJSON(root, name+"/"+e.Name()+"/"+store.ResultsFile, &res) == nil {
				if cell, campaign := campaignOf(res); cell != "" {
					de.Cell = "cell " + cell + " of campaign " + campaign
				}
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
	w.Header().Set("Content-Security-Policy", pageCSP(true))
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, tmpl, time.Time{}, bytes.NewReader(buf.Bytes()))
}
