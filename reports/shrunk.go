package reports

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

// A shrunkView is the run page's section on the run's shrunk schedule
// (lockstorm shrink): its faults, how often it broke the lock in its
// replays, its file and the command that replays it.
type shrunkView struct {
	// Error is why shrink found no schedule; the rest is then empty.
	Error            string
	Faults           []string
	Of, Broke, Of2   int // faults of the run; replays that broke, of Of2
	Threshold, Rate  string
	File             string
	Href, ResultHref template.URL
	Command          string
}

// WriteRunShrunk writes a run's index.html as WriteRun does, with a
// section on the shrunk schedule s (nil: the run was never shrunk).
func WriteRunShrunk(w io.Writer, res store.RunResult, h history.History, s *store.ShrinkResult) error {
	p := buildRun(res, h)
	if s != nil {
		p.Shrunk = buildShrunk(*s)
	}
	if err := writePage(w, "run.html", p); err != nil {
		return fmt.Errorf("run page: %w", err)
	}
	return nil
}

func buildShrunk(s store.ShrinkResult) *shrunkView {
	v := &shrunkView{Of: s.Faults, ResultHref: template.URL(store.ShrinkDir + "/" + store.ShrinkFile)}
	if s.File == "" {
		v.Error = s.Error
		if v.Error == "" {
			v.Error = "the search ended without a schedule"
		}
		return v
	}
	for _, ev := range s.Result.Schedule.Events {
		f := fmt.Sprintf("%s at %s for %s", ev.Nemesis, fmtNs(int64(ev.Start)), fmtNs(int64(ev.Duration)))
		if len(ev.Params) > 0 {
			var ps []string
			for k, x := range ev.Params {
				ps = append(ps, k+"="+x)
			}
			sort.Strings(ps)
			f += " (" + strings.Join(ps, ", ") + ")"
		}
		v.Faults = append(v.Faults, f)
	}
	v.Broke, v.Of2, v.Rate = s.Broke(), s.Of(), pct(s.Result.Rate)
	v.Threshold = pct(s.Threshold)
	v.File, v.Command = s.File, s.Command
	// The page is in the run directory: link the schedule when it is
	// there too (shrink's default), and name it otherwise.
	if rel, err := filepath.Rel(s.Run, s.File); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
		segs := strings.Split(filepath.ToSlash(rel), "/")
		for i := range segs {
			segs[i] = escapeSeg(segs[i])
		}
		v.Href, v.File = template.URL(strings.Join(segs, "/")), rel
	}
	return v
}
