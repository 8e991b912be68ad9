package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CellsDir is the directory of a campaign that names its runs by cell:
// campaigns/<timestamp>/cells/<cell>/<n> is a symbolic link to the n-th
// run (from 1) of that cell, in DESIGN's <target>-<workload>-<nemesis>
// layout. Two cells of one target, workload and nemesis (a plain and a
// fenced one) share a run directory's name; their links tell them apart.
const CellsDir = "cells"

// CellLinkName is the name of a cell's directory under cells/: the cell's
// name with every byte outside [A-Za-z0-9._-] turned into '-', so that any
// name a campaign file accepts gives one path element.
func CellLinkName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// LinkCells writes campaignDir/cells/<cell>/<n> for every run of res that
// has a run directory. campaignDir is <root>/campaigns/<id>, and the links
// are relative, so a store that is moved or copied keeps them. Two cells
// whose names give the same link name get -2, -3... after the second's.
// A cells directory already there is left as it is (a merge writing into
// the directory of a campaign that has one).
func LinkCells(campaignDir string, res CampaignResult) error {
	cells := filepath.Join(campaignDir, CellsDir)
	if _, err := os.Lstat(cells); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cell links: %w", err)
	}
	used := map[string]bool{}
	for _, c := range res.Cells {
		name := CellLinkName(c.Name)
		for k := 2; used[name]; k++ {
			name = CellLinkName(c.Name) + "-" + strconv.Itoa(k)
		}
		used[name] = true
		for i, r := range c.Runs {
			if !filepath.IsLocal(r.Dir) { // empty, absolute or leaving the store: no link
				continue
			}
			dir := filepath.Join(cells, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cell links: %w", err)
			}
			// From campaigns/<id>/cells/<cell>/ up to the store root.
			target := filepath.Join("..", "..", "..", "..", r.Dir)
			if err := os.Symlink(target, filepath.Join(dir, strconv.Itoa(i+1))); err != nil {
				return fmt.Errorf("cell links: %w", err)
			}
		}
	}
	return nil
}
