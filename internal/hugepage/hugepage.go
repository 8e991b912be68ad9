// Package hugepage asks the kernel to back large, freshly allocated slices
// with huge pages.
//
// On this project's machines the first write to a page of memory is the
// dearest part of filling a large slice: each 4-KiB page faults once, and
// the fault costs microseconds under a hypervisor. A slice of a few hundred
// megabytes (a million-op History) spends more time in those faults than in
// its own loop. Backed by 2-MiB pages, the same slice faults 512 times less
// often. Go's heap does not ask for huge pages itself, and Linux's default
// (transparent huge pages only where asked for, "madvise") leaves the heap
// on small pages.
package hugepage

import "unsafe"

// Size is the size of a huge page on the machines this is written for.
const Size = 2 << 20

// Min is the smallest slice worth advising: one that holds at least two
// whole huge pages wherever it starts.
const Min = 3 * Size

// Advise asks the kernel to back the huge pages that lie wholly inside the
// memory of s (up to its capacity) with huge pages, before they are first
// written. It is advice: where the system has no huge pages, or where it
// already uses them everywhere, nothing changes, and it never fails. It
// does nothing for a slice smaller than Min.
func Advise[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < Min {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	begin := (start + Size - 1) &^ (Size - 1)
	end := (start + n) &^ (Size - 1)
	if begin < end {
		advise(begin, end-begin)
	}
}
