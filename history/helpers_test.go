package history

import (
	"bytes"
	"strconv"
	"sync"
)

// syncBuffer is a bytes.Buffer safe for the recorder's flusher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func itoaTest(i int) string { return strconv.Itoa(i) }
