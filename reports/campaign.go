package reports

import (
	"fmt"
	"html/template"
	"io"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// campaignPage is the data of the campaign template.
type campaignPage struct {
	C           store.CampaignResult
	Class, Word string
	Headline    string
	Meta        []kv
	Groups      []matrixGroup
	// Claims lists every cell, in campaign order, with its claim: the
	// table the page leads with.
	Claims []claimRow
	// SideBySide holds, for each cell of the file with a matrix, the
	// cells it expanded into, one column per value.
	SideBySide []sideBySide
	// Contention holds a throughput-by-clients plot for each cell with a
	// contention result, when the page was written with its store.
	Contention []cellPlot
	Runs       []runRow
	Common
}

type matrixGroup struct {
	Workload string
	Nemeses  []string
	Rows     []matrixRow
}

type matrixRow struct {
	Label string
	Cells [][]cellView // one slot per nemesis column; usually one cell each
}

type cellView struct {
	Name, Class, Word, Expect, Outcome, Description string
	Met                                             bool
	NotRun                                          string // why the cell has no verdict
	Runs                                            int
	Detection, TTFV                                 string
	// Phases is where the cell's runs' time went: each phase's median
	// over its runs (phasesLine of medianPhases).
	Phases   string
	RunLinks []runLink
	// Servers are the versions the cell's runs reported, each once, in
	// the order of the runs (serverVersions).
	Servers []string
	// Margin is what a margin cell found ("holds at 900ms, breaks at
	// 1.1s"), and MarginHref its page; empty for other cells.
	Margin     string
	MarginHref template.URL
}

// claimRow is one line of the claims table, which leads the campaign
// page: what a cell set out to show (its claim, "" when the file states
// none), what it showed (its verdict and whether its expectation was
// met), how often its runs found a violation and how soon, and links to
// its runs.
type claimRow struct {
	Name, Claim, Expect, Outcome, Class, Word string
	Met                                       bool
	NotRun                                    string
	// Found of Runs runs found a violation; Detection is that share
	// ("67%").
	Found, Runs int
	Detection   string
	// FirstViolation is the median time to first violation over the
	// runs that found one, from the start of the workload; "–" for none.
	FirstViolation string
	RunLinks       []runLink
	// Margin and MarginHref are a margin cell's finding and page.
	Margin     string
	MarginHref template.URL
}

type runLink struct {
	Label, Class string
	Href         template.URL
}

type runRow struct {
	Cell, Target, Workload, Nemesis, Expect string
	Seed                                    int64
	Class, Word, Summary, Error             string
	FirstViolation, Duration, Server        string
	Ops, Indeterminate                      int
	Href                                    template.URL
}

// WriteCampaign writes a campaign's index.html. It leads with the claims:
// one row per cell with its claim, its verdict and whether its
// expectation was met, its detection rate (the runs that found a
// violation, of its runs), the median time to first violation and links to
// its runs. Below come, as a second view, a matrix of targets by nemeses
// for each workload, every cell with the same figures in its verdict
// colour, and a filterable table of every run. The page is meant
// to live at store/campaigns/<id>/index.html, so run links go up two levels.
// It reads no run, so it has no throughput-by-clients plots: see
// WriteCampaignFromStore.
func WriteCampaign(w io.Writer, c store.CampaignResult) error {
	return writeCampaignPage(w, c, nil)
}

// WriteCampaignFromStore writes the campaign page as WriteCampaign does,
// and reads the runs' results.json in the store directory root, where the
// campaign's run directories are, to add a throughput-by-clients plot for
// every cell with a contention result: that of the first of the cell's
// runs that has one. Runs whose results cannot be read are passed over; a
// store that cannot be opened leaves the page without plots.
func WriteCampaignFromStore(w io.Writer, c store.CampaignResult, root string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return writeCampaignPage(w, c, nil)
	}
	defer r.Close()
	return writeCampaignPage(w, c, storeReader(r))
}

// writeCampaignPage renders the campaign page, reading runs with read (nil:
// none).
func writeCampaignPage(w io.Writer, c store.CampaignResult, read runReader) error {
	if err := writePage(w, "campaign.html", buildCampaign(c, read)); err != nil {
		return fmt.Errorf("campaign page: %w", err)
	}
	return nil
}

// buildCampaign makes the campaign page's model, reading runs' results
// with read for the contention plots (nil: no plots).
func buildCampaign(c store.CampaignResult, read runReader) *campaignPage {
	p := &campaignPage{C: c, Common: common(), Contention: cellPlots(c.Cells, read)}
	met, notRun := 0, 0
	var statuses []checker.Status
	for _, cell := range c.Cells {
		switch {
		case cell.Met:
			met++
		case cell.NotRun != "":
			notRun++
		}
		statuses = append(statuses, cell.Status)
	}
	unmet := len(c.Cells) - met - notRun
	switch {
	case len(c.Cells) == 0:
		p.Class, p.Word, p.Headline = "unknown", "Empty", "The campaign has no cells."
	case met == len(c.Cells):
		p.Class, p.Word = "valid", "Met"
		p.Headline = fmt.Sprintf("All %d cells met their expectation.", len(c.Cells))
	case unmet == 0 && met == 0:
		p.Class, p.Word = "unknown", "Not run"
		p.Headline = fmt.Sprintf("None of the %d cells ran.", len(c.Cells))
	case unmet == 0:
		p.Class, p.Word = "unknown", "Not run"
		p.Headline = fmt.Sprintf("%d of %d cells did not run; the %d that ran met their expectation.", notRun, len(c.Cells), met)
	default:
		p.Class, p.Word = "invalid", "Not met"
		p.Headline = fmt.Sprintf("%d of %d cells did not meet their expectation.", unmet, len(c.Cells))
		if notRun > 0 {
			p.Headline += fmt.Sprintf(" %d did not run.", notRun)
		}
	}
	if c.Interrupted != "" {
		p.Word = "Interrupted"
		if p.Class == "valid" {
			p.Class = "unknown"
		}
		p.Headline = "Interrupted: " + c.Interrupted + ". " + p.Headline
	}
	if len(c.Cells) > 0 && met == len(c.Cells) && checker.Merge(statuses...) == checker.Unknown {
		p.Class = "unknown"
	}
	p.Meta = []kv{{"campaign", c.Name}, {"id", c.ID}, {"cells", fmt.Sprint(len(c.Cells))}, {"exit code", fmt.Sprint(c.ExitCode)}}
	if !c.Started.IsZero() {
		p.Meta = append(p.Meta, kv{"started", c.Started.UTC().Format(time.RFC3339)})
	}
	if c.Duration > 0 {
		p.Meta = append(p.Meta, kv{"duration", c.Duration.Round(time.Second).String()})
	}
	if c.Shard != "" {
		p.Meta = append(p.Meta, kv{"shard", c.Shard})
	}
	p.Groups = matrix(c.Cells)
	p.SideBySide = sideBySides(c.Cells)
	for _, cell := range c.Cells {
		p.Claims = append(p.Claims, claimOf(cell))
	}
	for _, cell := range c.Cells {
		for _, r := range cell.Runs {
			p.Runs = append(p.Runs, runRow{Cell: cell.Name, Target: cell.Target, Workload: cell.Workload,
				Nemesis: cell.Nemesis, Expect: string(cell.Expect), Seed: r.Seed, Class: statusClass(r.Status),
				Word: statusWord(r.Status), Summary: r.Summary, Error: r.Error, FirstViolation: ttfv(store.TimeToViolation(r.FirstViolation, r.WorkloadStart)),
				Duration: r.Duration.Round(time.Millisecond).String(), Ops: r.Ops, Indeterminate: r.Indeterminate,
				Server: r.ServerVersion, Href: runHref(r.Dir)})
		}
	}
	return p
}

// matrix groups cells by workload, with one row per target (and variant)
// and one column per nemesis, in order of first appearance.
func matrix(cells []store.CellResult) []matrixGroup {
	var groups []matrixGroup
	gi := map[string]int{}
	for _, c := range cells {
		i, ok := gi[c.Workload]
		if !ok {
			i = len(groups)
			gi[c.Workload] = i
			groups = append(groups, matrixGroup{Workload: c.Workload})
		}
		g := &groups[i]
		col := indexOrAppend(&g.Nemeses, c.Nemesis)
		label := c.Target
		if c.Variant != "" {
			label += " (" + c.Variant + ")"
		}
		row := -1
		for j := range g.Rows {
			if g.Rows[j].Label == label {
				row = j
			}
		}
		if row < 0 {
			row = len(g.Rows)
			g.Rows = append(g.Rows, matrixRow{Label: label})
		}
		r := &g.Rows[row]
		for len(r.Cells) <= col {
			r.Cells = append(r.Cells, nil)
		}
		r.Cells[col] = append(r.Cells[col], cellOf(c))
	}
	for gi := range groups {
		for ri := range groups[gi].Rows {
			r := &groups[gi].Rows[ri]
			for len(r.Cells) < len(groups[gi].Nemeses) {
				r.Cells = append(r.Cells, nil)
			}
		}
	}
	return groups
}

func indexOrAppend(s *[]string, v string) int {
	for i, x := range *s {
		if x == v {
			return i
		}
	}
	*s = append(*s, v)
	return len(*s) - 1
}

func cellOf(c store.CellResult) cellView {
	v := cellView{Name: c.Name, Class: statusClass(c.Status), Word: statusWord(c.Status), Expect: string(c.Expect),
		Outcome: c.Outcome, Description: c.Description, Met: c.Met, NotRun: c.NotRun, Runs: len(c.Runs),
		Detection: pct(c.DetectionRate), TTFV: ttfv(c.TTFVMedian), Servers: serverVersions(c.Runs),
		Phases: phasesLine(medianPhases(c.Runs))}
	if m := c.Margin; m != nil {
		v.Margin, v.MarginHref = m.Summary(), runHref(m.Dir)
	}
	runs := append([]store.CellRun(nil), c.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Status == checker.Invalid && runs[j].Status != checker.Invalid })
	for i, r := range runs {
		if i == 8 {
			v.RunLinks = append(v.RunLinks, runLink{Label: "…", Href: "#runs"})
			break
		}
		v.RunLinks = append(v.RunLinks, runLink{Label: fmt.Sprintf("seed %d", r.Seed), Class: statusClass(r.Status), Href: runHref(r.Dir)})
	}
	return v
}

// claimOf makes the claims table's row of a cell.
func claimOf(c store.CellResult) claimRow {
	v := cellOf(c)
	r := claimRow{Name: c.Name, Claim: c.Description, Expect: string(c.Expect), Outcome: c.Outcome,
		Class: v.Class, Word: v.Word, Met: c.Met, NotRun: c.NotRun, Runs: len(c.Runs), Detection: v.Detection,
		FirstViolation: v.TTFV, RunLinks: v.RunLinks, Margin: v.Margin, MarginHref: v.MarginHref}
	for _, run := range c.Runs {
		if run.Status == checker.Invalid {
			r.Found++
		}
	}
	return r
}

// serverVersions lists the versions that runs' servers reported, each
// once, in the order of the runs; runs that reported none are passed over.
func serverVersions(runs []store.CellRun) []string {
	var out []string
	for _, r := range runs {
		if r.ServerVersion != "" && !slices.Contains(out, r.ServerVersion) {
			out = append(out, r.ServerVersion)
		}
	}
	return out
}

// runHref links a run directory (relative to the store root) from a
// campaign page two levels below the root. A directory that would leave the
// store gets no link.
func runHref(dir string) template.URL {
	d := path.Clean(strings.ReplaceAll(dir, `\`, "/"))
	if dir == "" || d == "." || strings.HasPrefix(d, "/") || d == ".." || strings.HasPrefix(d, "../") {
		return ""
	}
	parts := strings.Split(d, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return template.URL("../../" + strings.Join(parts, "/") + "/index.html")
}

// pct renders a share as a percentage.
func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// ttfv renders a time to first violation; negative means none.
func ttfv(ns int64) string {
	if ns < 0 {
		return "–"
	}
	return fmtNs(ns)
}
