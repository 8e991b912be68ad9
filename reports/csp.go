package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"path"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/store"
)

// plainCSP is the policy of everything the server sends that is not one of
// the store's report pages: logs, histories, results.json, any file a
// container left. It is served as text/plain, and should a browser still
// render it, nothing in it may run, load or be framed.
const plainCSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

// pageCSP is the policy of a report page: nothing is fetched (reports are
// self-contained), and the only scripts that may run are lockstorm's own
// inline <script> elements (scripts true), allowed by hashes computed from
// the embedded templates (ownScriptHashes), never from the page served:
// markup injected later (an event handler in a tooltip built with
// innerHTML, a javascript: link) cannot run, and neither can a script
// planted in a page of the store. Styles keep 'unsafe-inline': the pages
// and their SVG plots colour things with style attributes, which no hash
// can allow in every browser; with nothing fetched, a style can neither
// load nor send anything.
func pageCSP(scripts bool) string {
	src := "'none'"
	if hashes := ownScriptHashes(); scripts && len(hashes) > 0 {
		src = strings.Join(hashes, " ")
	}
	return "default-src 'none'; script-src " + src + "; style-src 'unsafe-inline'; img-src 'self' data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// dataBlockTag opens the JSON data block of the linearizability page
// (dataBlock): a <script> element that no browser runs.
const dataBlockTag = `<script type="application/json" id="lin-data">`

// scriptHashes returns the CSP source of each inline <script> element of
// page: 'sha256-' and the base64 SHA-256 of its text, once each, as a
// browser hashes it. The linearizability page's data block, opened by
// exactly dataBlockTag, is data and is left out; any other <script> counts.
func scriptHashes(page []byte) []string {
	var out []string
	for {
		i := indexTag(page, "<script")
		if i < 0 {
			return out
		}
		page = page[i:]
		open := bytes.IndexByte(page, '>')
		if open < 0 {
			return out
		}
		data := string(page[:open+1]) == dataBlockTag
		page = page[open+1:]
		end := indexTag(page, "</script")
		if end < 0 {
			end = len(page)
		}
		if data {
			page = page[end:]
			continue
		}
		// A browser hashes the script as parsed: with its line ends
		// made \n.
		text := bytes.ReplaceAll(bytes.ReplaceAll(page[:end], []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		sum := sha256.Sum256(text)
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
		page = page[end:]
	}
}

// isReportPage reports whether name (relative to the store, with slashes)
// is one of the pages lockstorm writes: index.html or linearizability.html
// directly inside a run directory (<cell>/<timestamp>/), a campaign
// directory (campaigns/<timestamp>/) or the run that store/latest points
// at. Only those are served as HTML; a file of the same name deeper down,
// such as a server log copied from a container, is text.
func isReportPage(name string) bool {
	base := path.Base(name)
	return (base == store.IndexFile || base == store.LinearizabilityFile) && isReportDir(path.Dir(name))
}

// isReportDir reports whether dir is where report pages live: two levels
// under the store, or store/latest.
func isReportDir(dir string) bool {
	return dir == store.LatestLink || strings.Count(dir, "/") == 1
}
