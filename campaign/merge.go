package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// Merge combines the results.json of campaign shards into one campaign
// written under store/campaigns/<timestamp>/. Cells are merged by name (the
// runs of a cell that appears in several shards are pooled), and keep the
// order of the whole campaign. Run directories stay where they are: shard
// stores must be copied into root for the links to work. A shard given
// twice (the same results.json, or the same campaign id and shard) is
// refused: its runs would count twice.
func Merge(root string, shardDirs []string) (store.CampaignResult, string, error) {
	var out store.CampaignResult
	index := map[string]int{}
	var earliest time.Time
	runs := 0 // runs read so far: a merge holds no more than a campaign may have
	seen := shardsSeen{}
	for _, d := range shardDirs {
		path := d
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			path = filepath.Join(d, store.ResultsFile)
		}
		c, err := store.ReadCampaignResult(path)
		if err != nil {
			return out, "", fmt.Errorf("%w: %w", ErrBadFile, err)
		}
		if err := seen.add(d, path, c); err != nil {
			return out, "", err
		}
		for _, cell := range c.Cells {
			runs += len(cell.Runs)
		}
		if runs > MaxRuns {
			return out, "", fmt.Errorf("%w: %s: the shards so far hold %d runs; a campaign may have at most %d", ErrBadFile, path, runs, MaxRuns)
		}
		if out.Name == "" {
			out.Name = c.Name
		}
		if earliest.IsZero() || c.Started.Before(earliest) {
			earliest = c.Started
		}
		out.Duration += c.Duration
		for _, cell := range c.Cells {
			if i, ok := index[cell.Name]; ok {
				out.Cells[i].Runs = append(out.Cells[i].Runs, cell.Runs...)
				continue
			}
			index[cell.Name] = len(out.Cells)
			out.Cells = append(out.Cells, cell)
		}
		if len(out.Cells) > MaxCells {
			return out, "", fmt.Errorf("%w: %s: the shards so far hold %d cells; a campaign may have at most %d", ErrBadFile, path, len(out.Cells), MaxCells)
		}
	}
	sort.SliceStable(out.Cells, func(a, b int) bool { return out.Cells[a].Index < out.Cells[b].Index })
	for i := range out.Cells {
		sort.SliceStable(out.Cells[i].Runs, func(a, b int) bool { return out.Cells[i].Runs[a].Seed < out.Cells[i].Runs[b].Seed })
		Summarize(&out.Cells[i])
	}
	out.Started = earliest
	out.ExitCode = ExitCode(out.Cells, false)
	dir, err := writeCampaign(root, time.Now(), out)
	out.ID = filepath.Base(dir)
	return out, dir, err
}

// shardsSeen remembers the shards of a merge so far, by the file that was
// read and by campaign id and shard, with the argument that named each.
type shardsSeen struct {
	files, ids map[string]string
}

// add refuses a shard seen before: the same results.json (after cleaning
// the path and resolving its links), or the same campaign id and shard.
func (s *shardsSeen) add(arg, path string, c store.CampaignResult) error {
	if s.files == nil {
		s.files, s.ids = map[string]string{}, map[string]string{}
	}
	file := filepath.Clean(path)
	if real, err := filepath.EvalSymlinks(file); err == nil {
		file = real
	}
	if prev, ok := s.files[file]; ok {
		return fmt.Errorf("%w: %s: the same shard as %s (both are %s); a shard is merged once", ErrBadFile, arg, prev, file)
	}
	s.files[file] = arg
	if c.ID == "" {
		return nil
	}
	id := c.ID + " " + c.Shard
	if prev, ok := s.ids[id]; ok {
		return fmt.Errorf("%w: %s: the same shard as %s (campaign %s, shard %q); a shard is merged once", ErrBadFile, arg, prev, c.ID, c.Shard)
	}
	s.ids[id] = arg
	return nil
}
