//go:build !unix

package history

import "os"

// openNoBlock opens path for reading. Without O_NONBLOCK, ReadFile relies
// on the look at the path's mode before it opens it.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
