package hugepage

import "syscall"

// advise marks [begin, begin+n) MADV_HUGEPAGE. An error (a kernel
// without transparent huge pages) is ignored: the advice is optional.
func advise(begin, n uintptr) {
	syscall.Syscall(syscall.SYS_MADVISE, begin, n, syscall.MADV_HUGEPAGE)
}
