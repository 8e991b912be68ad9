package reports

import (
	"bytes"
	"errors"
	"slices"
	"sync"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

// ownScriptHashes are the CSP sources of every inline script that
// lockstorm's pages hold: the error catcher of every page, the campaign
// page's filter, and porcupine's view on the linearizability page. They
// are computed once from the embedded templates and assets, by rendering
// each kind of page, and never from a page that is served: a page in the
// store whose scripts are not all among them was not written by lockstorm
// (or by a version of it with other scripts), and serve sends it as text.
var ownScriptHashes = sync.OnceValue(func() []string {
	var out []string
	add := func(render func(*bytes.Buffer) error) {
		var buf bytes.Buffer
		if render(&buf) != nil {
			return
		}
		for _, h := range scriptHashes(buf.Bytes()) {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	add(func(b *bytes.Buffer) error { return WriteRun(b, store.RunResult{}, nil) })
	add(func(b *bytes.Buffer) error { return WriteCampaign(b, store.CampaignResult{Name: "x"}) })
	add(func(b *bytes.Buffer) error { return WriteLinearizability(b, referenceHistory()) })
	add(func(b *bytes.Buffer) error { return writeLinUnavailable(b, nil, "x") })
	add(func(b *bytes.Buffer) error { return writePage(b, "dir.html", dirPage{Common: common()}) })
	return out
})

// ownScriptsOnly reports whether every inline script of page is one of
// lockstorm's own (ownScriptHashes).
func ownScriptsOnly(page []byte) bool {
	own := ownScriptHashes()
	for _, h := range scriptHashes(page) {
		if !slices.Contains(own, h) {
			return false
		}
	}
	return true
}

// referenceHistory is the smallest history porcupine's view draws: one
// acquire and one release. Its drawing gives the parts of that view that
// do not depend on the history (porcupineFrame).
func referenceHistory() history.History {
	h := history.History{
		{Process: 0, Type: history.Invoke, F: history.FAcquire, Key: "k"},
		{Process: 0, Type: history.Ok, F: history.FAcquire, Key: "k"},
		{Process: 0, Type: history.Invoke, F: history.FRelease, Key: "k"},
		{Process: 0, Type: history.Ok, F: history.FRelease, Key: "k"},
	}
	for i := range h {
		h[i].Index, h[i].Time = i, int64(i)
	}
	return h
}

// errFrame is returned by dataBlock for a page that does not have the form
// of porcupine's view.
var errFrame = errors.New("porcupine's page has an unexpected form")

// porcupineFrame returns what porcupine's view holds before and after the
// data of a history: its styles and script up to "const data = ", and
// from "render(data)" on. Both are the same for every history.
var porcupineFrame = sync.OnceValues(func() ([]byte, []byte) {
	var buf bytes.Buffer
	if err := checker.Visualize(referenceHistory(), &buf, checker.VisualizeOptions{}); err != nil {
		return nil, nil
	}
	ref := buf.Bytes()
	i := bytes.LastIndex(ref, []byte("const data = "))
	j := bytes.LastIndex(ref, []byte("render(data)"))
	if i < 0 || j < i {
		return nil, nil
	}
	for j > i && (ref[j-1] == ' ' || ref[j-1] == '\n') {
		j--
	}
	return bytes.Clone(ref[:i+len("const data = ")]), bytes.Clone(ref[j:])
})

// dataBlock moves the data of porcupine's view out of its script into a
// JSON data block, which no browser runs, so that the script is the same
// text on every page and serve allows it by a hash known in advance. The
// data is porcupine's json.Marshal output, whose strings escape '<', so it
// cannot close the block.
func dataBlock(page []byte) ([]byte, error) {
	head, tail := porcupineFrame()
	if head == nil || len(page) < len(head)+len(tail) || !bytes.HasPrefix(page, head) || !bytes.HasSuffix(page, tail) {
		return nil, errFrame
	}
	data := page[len(head) : len(page)-len(tail)]
	s := bytes.LastIndex(head, []byte("<script>"))
	if s < 0 {
		return nil, errFrame
	}
	out := make([]byte, 0, len(page)+128)
	out = append(out, head[:s]...)
	out = append(out, dataBlockTag...)
	out = append(out, data...)
	out = append(out, "</script>\n    "...)
	out = append(out, head[s:]...)
	out = append(out, `JSON.parse(document.getElementById("lin-data").textContent)`...)
	out = append(out, tail...)
	return out, nil
}
