package reports

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/internal/inputfile"
	"github.com/lockstorm/lockstorm/store"
)

// runEntry is one run in the store index. A run that is still running
// has Running set, and no op count yet. CampaignCell and Campaign name the
// campaign cell the run was made for, which its directory (Cell) does not
// tell apart from a cell that differs in other settings; "" for a run of
// its own.
type runEntry struct {
	Cell, ID, Class, Word, Summary, Started, Href string
	CampaignCell, Campaign                        string
	Ops                                           int
	Running                                       bool
	started                                       time.Time
}

// campaignEntry is one campaign in the store index.
type campaignEntry struct {
	Name, ID, Started, Href, Class string
	Cells, Met                     int
	started                        time.Time
}

// marginEntry is one margin in the store index: what was varied, what
// was found, and the link to its page.
type marginEntry struct {
	Target, Option, ID, Started, Href, Class, Found string
	started                                         time.Time
}

type indexPage struct {
	Dir       string
	Latest    string
	Runs      []runEntry
	Campaigns []campaignEntry
	Margins   []marginEntry
	Common
}

// serveIndex lists the runs (store/<cell>/<timestamp>/results.json) newest
// first, the campaigns (store/campaigns/<id>/results.json) and the margins
// (store/margins/<name>/<id>/results.json).
func (s *server) serveIndex(w http.ResponseWriter, r *http.Request) {
	p := indexPage{Dir: s.dir, Common: common()}
	now := s.clock()
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		http.Error(w, "the store cannot be opened", http.StatusNotFound)
		return
	}
	defer root.Close()
	if fi, err := root.Stat("latest"); err == nil && fi.IsDir() {
		p.Latest = "latest/"
	}
	cells, _ := readDirNames(root, ".")
	for _, cell := range cells {
		if cell == store.CampaignsDir || cell == store.MarginsDir || cell == "latest" || strings.HasPrefix(cell, ".") {
			continue
		}
		runs, _ := readDirNames(root, cell)
		for _, id := range runs {
			var res store.RunResult
			if readJSON(root, cell+"/"+id+"/results.json", &res) != nil {
				continue
			}
			p.Runs = append(p.Runs, runEntryFor(root, cell, id, res, now))
		}
	}
	sort.SliceStable(p.Runs, func(i, j int) bool {
		a, b := p.Runs[i], p.Runs[j]
		if !a.started.Equal(b.started) {
			return a.started.After(b.started)
		}
		return a.ID > b.ID
	})
	camps, _ := readDirNames(root, "campaigns")
	for _, id := range camps {
		var c store.CampaignResult
		if readJSON(root, "campaigns/"+id+"/results.json", &c) != nil {
			continue
		}
		e := campaignEntry{Name: c.Name, ID: id, Started: stamp(c.Started), started: c.Started,
			Href: "campaigns/" + escapeSeg(id) + "/", Cells: len(c.Cells)}
		for _, cell := range c.Cells {
			if cell.Met {
				e.Met++
			}
		}
		e.Class = "valid"
		if e.Met < e.Cells {
			e.Class = "invalid"
		}
		p.Campaigns = append(p.Campaigns, e)
	}
	sort.SliceStable(p.Campaigns, func(i, j int) bool {
		if !p.Campaigns[i].started.Equal(p.Campaigns[j].started) {
			return p.Campaigns[i].started.After(p.Campaigns[j].started)
		}
		return p.Campaigns[i].ID > p.Campaigns[j].ID
	})
	p.Margins = marginEntries(root)
	s.render(w, r, "index.html", p)
}

// marginEntries lists the margins (store/margins/<name>/<id>/results.json)
// newest first.
func marginEntries(root *os.Root) []marginEntry {
	var es []marginEntry
	names, _ := readDirNames(root, store.MarginsDir)
	for _, name := range names {
		ids, _ := readDirNames(root, store.MarginsDir+"/"+name)
		for _, id := range ids {
			var m store.MarginResult
			if readJSON(root, store.MarginsDir+"/"+name+"/"+id+"/results.json", &m) != nil {
				continue
			}
			e := marginEntry{Target: m.Target, Option: m.Vary.Option, ID: id, Started: stamp(m.Started), started: m.Started,
				Href: store.MarginsDir + "/" + escapeSeg(name) + "/" + escapeSeg(id) + "/", Class: "unknown"}
			o := m.Margin
			switch {
			case o.Outcome == marginFound && o.Holds != nil && o.Breaks != nil:
				e.Class, e.Found = "valid", fmt.Sprintf("holds %s, breaks %s", secs(*o.Holds), secs(*o.Breaks))
			case m.Error != "":
				e.Found = "stopped: " + m.Error
			default:
				e.Found = "no boundary: " + o.Outcome
			}
			if m.Lease > 0 {
				e.Found += fmt.Sprintf(" (%s %s)", leaseName(m.Target), secs(m.Lease))
			}
			es = append(es, e)
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].started.Equal(es[j].started) {
			return es[i].started.After(es[j].started)
		}
		return es[i].ID > es[j].ID
	})
	return es
}

// readDirNames lists the sub-directories of dir inside root.
func readDirNames(root *os.Root, dir string) ([]string, error) {
	f, err := root.OpenFile(dir, inputfile.Flags, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// readJSON decodes a JSON file inside root: a regular file of at most
// store.MaxResultsSize, so that a FIFO or a huge file in the store cannot
// stall or exhaust the server.
func readJSON(root *os.Root, name string, v any) error {
	b, err := inputfile.ReadFileIn(root, name, store.MaxResultsSize)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}

// campaignOf returns the campaign cell of a run and the campaign's name
// (its id when it has none); "", "" for a run of its own.
func campaignOf(res store.RunResult) (cell, campaign string) {
	of := res.Campaign
	if of == nil || of.Cell == "" {
		return "", ""
	}
	campaign = of.Name
	if campaign == "" {
		campaign = of.ID
	}
	return of.Cell, campaign
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}

// escapeSeg escapes one path segment for a relative link. A colon is
// escaped too: "a:b/" as a link would be read as a URL of scheme "a".
func escapeSeg(s string) string { return strings.ReplaceAll(url.PathEscape(s), ":", "%3A") }
