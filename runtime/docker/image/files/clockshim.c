/*
 * clockshim: an LD_PRELOAD library that shifts what a process reads from the
 * wall clock (and, on request, the monotonic clocks) by an offset in
 * nanoseconds.
 *
 * The offset lives in a file of exactly 8 bytes holding a little-endian
 * int64 (nanoseconds).  The path is $LOCKSTORM_CLOCK_FILE, or
 * /run/lockstorm/clock-offset by default.  The file is memory-mapped, so a
 * rewrite of those 8 bytes in place (lockstorm-clock does this with one
 * atomic store through its own mapping) is seen by the very next call.  A
 * missing file means an offset of 0; the shim looks for it again at most
 * every 250 ms until it appears.  Never truncate the file while processes
 * have it mapped: a read past the end of a mapped file raises SIGBUS.
 *
 * CLOCK_REALTIME, CLOCK_REALTIME_COARSE and CLOCK_TAI are always shifted.
 * CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW and
 * CLOCK_BOOTTIME are shifted only when LOCKSTORM_CLOCK_MONOTONIC=1.
 *
 * Nothing on the hot path or in initialisation allocates memory or calls back
 * into libc in a way that could re-enter an allocator: the file is opened and
 * mapped with raw system calls, and until the real clock_gettime has been
 * resolved (once, in a constructor, guarded against re-entry) the shim reads
 * the clock with a raw system call.  This is what keeps it safe under
 * jemalloc, which reads the clock while it initialises and while it holds
 * its own locks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
#define NSEC_PER_SEC 1000000000LL
#define RETRY_NS (250LL * 1000000LL)
#define DEFAULT_FILE "/run/lockstorm/clock-offset"

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

/* The real clock_gettime from libc (vDSO-backed), once resolved. */
static clock_gettime_fn real_clock_gettime;
/* 1 while the constructor runs dlsym: calls made meanwhile use a syscall. */
static volatile int resolving;
/* The mapped offset, or NULL while the file is missing. */
static volatile int64_t *offset_ptr;
/* CLOCK_MONOTONIC_COARSE reading (ns) after which to look for the file again. */
static int64_t next_try_ns;
/* Whether the monotonic family is shifted too. */
static int shift_monotonic;
/* The offset file's path, copied out of the environment. */
static char offset_path[4096];
static int path_ready;

static int raw_clock_gettime(clockid_t clk, struct timespec *ts)
{
    return (int)syscall(SYS_clock_gettime, clk, ts);
}

static int base_clock_gettime(clockid_t clk, struct timespec *ts)
{
    clock_gettime_fn fn = __atomic_load_n(&real_clock_gettime, __ATOMIC_ACQUIRE);
    if (fn != NULL && !resolving)
        return fn(clk, ts);
    return raw_clock_gettime(clk, ts);
}

/* read_env copies the settings out of the environment (getenv allocates nothing). */
static void read_env(void)
{
    if (__atomic_load_n(&path_ready, __ATOMIC_ACQUIRE))
        return;
    const char *p = getenv("LOCKSTORM_CLOCK_FILE");
    if (p == NULL || p[0] == '\0')
        p = DEFAULT_FILE;
    size_t n = strlen(p);
    if (n >= sizeof(offset_path))
        n = sizeof(offset_path) - 1;
    memcpy(offset_path, p, n);
    offset_path[n] = '\0';
    const char *m = getenv("LOCKSTORM_CLOCK_MONOTONIC");
    shift_monotonic = (m != NULL && m[0] == '1' && m[1] == '\0');
    __atomic_store_n(&path_ready, 1, __ATOMIC_RELEASE);
}

/* try_map maps the offset file with raw system calls; it returns NULL if absent. */
static volatile int64_t *try_map(void)
{
    read_env();
    long fd = syscall(SYS_openat, AT_FDCWD, offset_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size >= 8)
        p = (void *)syscall(SYS_mmap, NULL, 8, PROT_READ, MAP_SHARED, fd, 0);
    syscall(SYS_close, fd);
    if (p == MAP_FAILED || (uintptr_t)p > (uintptr_t)-4096)
        return NULL;
    return (volatile int64_t *)p;
}

/* current_offset returns the offset in nanoseconds (0 while there is no file). */
static int64_t current_offset(void)
{
    volatile int64_t *p = __atomic_load_n(&offset_ptr, __ATOMIC_ACQUIRE);
    if (p == NULL) {
        struct timespec now;
        if (base_clock_gettime(CLOCK_MONOTONIC_COARSE, &now) != 0)
            return 0;
        int64_t now_ns = (int64_t)now.tv_sec * NSEC_PER_SEC + now.tv_nsec;
        int64_t due = __atomic_load_n(&next_try_ns, __ATOMIC_RELAXED);
        if (now_ns < due)
            return 0;
        __atomic_store_n(&next_try_ns, now_ns + RETRY_NS, __ATOMIC_RELAXED);
        volatile int64_t *m = try_map();
        if (m == NULL)
            return 0;
        volatile int64_t *expected = NULL;
        if (!__atomic_compare_exchange_n(&offset_ptr, &expected, m, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            syscall(SYS_munmap, (void *)m, 8);
            m = expected;
        }
        p = m;
    }
    /* The file is little-endian, as is every target this image runs on. */
    return __atomic_load_n((const volatile int64_t *)p, __ATOMIC_RELAXED);
}

static int is_shifted(clockid_t clk)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        return 1;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        read_env();
        return shift_monotonic;
    default:
        return 0;
    }
}

static void add_offset(struct timespec *ts, int64_t off)
{
    int64_t sec = (int64_t)ts->tv_sec + off / NSEC_PER_SEC;
    int64_t nsec = (int64_t)ts->tv_nsec + off % NSEC_PER_SEC;
    if (nsec < 0) {
        nsec += NSEC_PER_SEC;
        sec--;
    } else if (nsec >= NSEC_PER_SEC) {
        nsec -= NSEC_PER_SEC;
        sec++;
    }
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)nsec;
}

__attribute__((constructor)) static void clockshim_init(void)
{
    read_env();
    resolving = 1;
    void *sym = dlsym(RTLD_NEXT, "clock_gettime");
    resolving = 0;
    if (sym != NULL)
        __atomic_store_n(&real_clock_gettime, (clock_gettime_fn)sym, __ATOMIC_RELEASE);
    (void)current_offset();
}

SHIM_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int rc = base_clock_gettime(clk, ts);
    if (rc == 0 && is_shifted(clk)) {
        int64_t off = current_offset();
        if (off != 0)
            add_offset(ts, off);
    }
    return rc;
}

SHIM_EXPORT int gettimeofday(struct timeval *tv, void *tz)
{
    if (tz != NULL && syscall(SYS_gettimeofday, NULL, tz) != 0)
        return -1;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

SHIM_EXPORT time_t time(time_t *out)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (time_t)-1;
    if (out != NULL)
        *out = ts.tv_sec;
    return ts.tv_sec;
}

SHIM_EXPORT int timespec_get(struct timespec *ts, int base)
{
    if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0)
        return 0;
    return base;
}
