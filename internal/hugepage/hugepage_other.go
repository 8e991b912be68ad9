//go:build !linux

package hugepage

func advise(begin, n uintptr) {}
