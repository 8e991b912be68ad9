/*
 * lockstorm-clock: read or change the clock offset that clockshim.so applies.
 *
 *   lockstorm-clock set VALUE   write the offset (replaces the old one)
 *   lockstorm-clock add VALUE   add to the offset
 *   lockstorm-clock get         print the offset in nanoseconds
 *   lockstorm-clock reset       write an offset of 0
 *
 * VALUE is a decimal number with an optional unit: ns, us, ms, s, m or h.
 * Without a unit it means seconds ("3600", "-1.5", "250ms", "7ns").
 *
 * The file ($LOCKSTORM_CLOCK_FILE, default /run/lockstorm/clock-offset) is
 * created with 8 zero bytes if it is missing, and is otherwise changed in
 * place: the tool maps it and stores the new little-endian int64 with one
 * atomic 8-byte store, so processes that have it mapped see the new value on
 * their next clock read and never a torn one.  The file is never truncated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_FILE "/run/lockstorm/clock-offset"

static void usage(void)
{
    fprintf(stderr, "usage: lockstorm-clock set VALUE | add VALUE | get | reset\n"
                    "VALUE: number with optional unit ns|us|ms|s|m|h (default s)\n");
    exit(2);
}

/* parse_value turns "VALUE[unit]" into nanoseconds; it exits on bad input. */
static int64_t parse_value(const char *s)
{
    char *end = NULL;
    errno = 0;
    long double v = strtold(s, &end);
    if (end == s || errno != 0)
        goto bad;
    long double scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1e9L;
    else if (strcmp(end, "ns") == 0)
        scale = 1.0L;
    else if (strcmp(end, "us") == 0)
        scale = 1e3L;
    else if (strcmp(end, "ms") == 0)
        scale = 1e6L;
    else if (strcmp(end, "m") == 0)
        scale = 60e9L;
    else if (strcmp(end, "h") == 0)
        scale = 3600e9L;
    else
        goto bad;
    long double ns = roundl(v * scale);
    if (!(ns > -9.2e18L && ns < 9.2e18L))
        goto bad;
    return (int64_t)ns;
bad:
    fprintf(stderr, "lockstorm-clock: bad value %s\n", s);
    exit(2);
}

/* make_parent creates the directory that holds path, one level at a time. */
static void make_parent(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof(dir))
        return;
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
}

/* map_file opens (creating if needed) and maps the offset file for writing. */
static volatile int64_t *map_file(const char *path, int create)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        make_parent(path);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return NULL;
        fprintf(stderr, "lockstorm-clock: open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "lockstorm-clock: stat %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (st.st_size < 8 && ftruncate(fd, 8) != 0) {
        fprintf(stderr, "lockstorm-clock: grow %s: %s\n", path, strerror(errno));
        exit(1);
    }
    void *p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "lockstorm-clock: mmap %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return (volatile int64_t *)p;
}

int main(int argc, char **argv)
{
    const char *path = getenv("LOCKSTORM_CLOCK_FILE");
    if (path == NULL || path[0] == '\0')
        path = DEFAULT_FILE;
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "get") == 0 && argc == 2) {
        volatile int64_t *p = map_file(path, 0);
        printf("%" PRId64 "\n", p == NULL ? (int64_t)0 : __atomic_load_n(p, __ATOMIC_SEQ_CST));
        return 0;
    }
    if (strcmp(cmd, "reset") == 0 && argc == 2) {
        __atomic_store_n(map_file(path, 1), (int64_t)0, __ATOMIC_SEQ_CST);
        return 0;
    }
    if (strcmp(cmd, "set") == 0 && argc == 3) {
        int64_t v = parse_value(argv[2]);
        __atomic_store_n(map_file(path, 1), v, __ATOMIC_SEQ_CST);
        return 0;
    }
    if (strcmp(cmd, "add") == 0 && argc == 3) {
        int64_t v = parse_value(argv[2]);
        printf("%" PRId64 "\n", __atomic_add_fetch(map_file(path, 1), v, __ATOMIC_SEQ_CST));
        return 0;
    }
    usage();
    return 2;
}
