package hugepage

import "testing"

// Advice never changes what a slice holds, whatever its size or start.
func TestAdviseKeepsContents(t *testing.T) {
	for _, n := range []int{0, 1, Min/8 - 1, Min / 8, 4 * Min / 8} {
		s := make([]int64, n, n+3)
		for i := range s {
			s[i] = int64(i)
		}
		Advise(s)
		Advise(s[:0])
		for i := range s {
			if s[i] != int64(i) {
				t.Fatalf("len %d: s[%d] = %d after Advise", n, i, s[i])
			}
		}
	}
	Advise([]struct{}(nil))
	Advise(make([]struct{}, 10))
}
