package campaign

import (
	"fmt"
	"math"

	"github.com/lockstorm/lockstorm/internal/inputfile"
)

// MaxFileSize bounds a campaign file. 1 MiB is far more than a campaign
// needs: the embedded default is 6 KB, and MaxCells cells fit in a tenth of
// it.
const MaxFileSize = 1 << 20

// Load reads and parses the campaign file at path. A path that is not a
// regular file (a FIFO, a device such as /dev/zero) or a file larger than
// MaxFileSize is refused at once, with an error that wraps ErrBadFile and
// names the file.
func Load(path string) (*File, error) {
	data, err := inputfile.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	return Parse(data, path)
}

// cellCount is len(f.Expand()) without expanding, at most math.MaxInt.
func (f *File) cellCount() int {
	n := 0
	for _, c := range f.Cells {
		k := c.Matrix.size()
		if k > math.MaxInt-n {
			return math.MaxInt
		}
		n += k
	}
	for _, m := range f.Matrix {
		k := mulCapped(mulCapped(len(m.Targets), len(m.Workloads)), max(1, len(m.Nemeses)))
		if k > math.MaxInt-n {
			return math.MaxInt
		}
		n += k
	}
	return n
}

// mulCapped is a*b for a, b >= 0, or math.MaxInt when that overflows.
func mulCapped(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}
