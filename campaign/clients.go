package campaign

import "github.com/lockstorm/lockstorm/harness"

// CheckClients refuses, with the file and the line of the cell, a cell
// whose protocol client (client: a command) is missing on this machine or
// is not executable (harness.CheckClient). It is checked when the cells
// are about to run, not when the file is parsed: a client's files are
// found from the directory the campaign runs in.
func (f *File) CheckClients(cells []Cell) error {
	for _, c := range cells {
		if err := harness.CheckClient(c.Plan); err != nil {
			return f.bad(c.Line, "cell %q: %s", c.Name, harness.Reason(err))
		}
	}
	return nil
}
