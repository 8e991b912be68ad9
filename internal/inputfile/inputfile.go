// Package inputfile reads the files that lockstorm is given as input
// (campaign files, results.json) so that no input can hang or exhaust the
// process: a file is opened without blocking, so that a FIFO with no writer
// never stalls the open; anything but a regular file (a FIFO, a device such
// as /dev/zero, a socket, a directory) is refused; and at most a stated
// number of bytes is read, a larger file being refused rather than cut.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file larger than its limit.
var ErrTooLarge = errors.New("file too large")

// Flags are the flags of every open in this package: read-only and
// non-blocking. The store server opens its files and directories with them
// too, so that a FIFO in the store cannot stall a request.
const Flags = os.O_RDONLY | syscall.O_NONBLOCK

// Open opens path for reading without blocking and returns it only when it
// is a regular file (a symlink to one is fine). The check is made on the
// opened file, so the file cannot be swapped between check and read.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, Flags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := regular(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// regular stats the open file f and refuses it unless it is a regular file.
func regular(f *os.File, name string) (fs.FileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(name, st.Mode())
	}
	return st, nil
}

// ReadFile returns the content of the regular file at path, refusing a file
// larger than limit bytes with an error that names the file and the limit.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path, st.Size(), limit)
}

// ReadFileIn is ReadFile for a name inside root, which it cannot leave.
func ReadFileIn(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.OpenFile(name, Flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := regular(f, name)
	if err != nil {
		return nil, err
	}
	return read(f, name, st.Size(), limit)
}

// read reads at most limit bytes of f. The size from stat refuses most
// large files before a byte is read; the bounded read catches files whose
// stat size says nothing (those under /proc) or that grow while read.
func read(f *os.File, name string, size, limit int64) ([]byte, error) {
	tooLarge := fmt.Errorf("%s: %w: the limit for this file is %s", name, ErrTooLarge, Size(limit))
	if size > limit {
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge
	}
	return b, nil
}

// Regular reports, without opening it, whether path is a regular file; it
// returns an error that says what it is otherwise. It is for files read by
// code that opens them itself.
func Regular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return notRegular(path, st.Mode())
	}
	return nil
}

func notRegular(name string, m fs.FileMode) error {
	return fmt.Errorf("%s: %w (it is %s)", name, ErrNotRegular, Kind(m))
}

// Kind names the type of a file in words: "a directory", "a FIFO" and so
// on.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "of an irregular type"
}

// Size writes a byte count the way the limits are stated: "1 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
