package redis

import (
	"context"
	"strings"
	"testing"
)

// infoServer is redis-server 7.0.15's answer to INFO server (Debian 12's
// package), with its CRLF line ends.
const infoServer = `# Server
redis_version:7.0.15
redis_git_sha1:00000000
redis_git_dirty:0
redis_build_id:ad5d1ef5e6a4f3c0
redis_mode:standalone
os:Linux 6.1.0-18-amd64 x86_64
arch_bits:64
monotonic_clock:POSIX clock_gettime
multiplexing_api:epoll
atomicvar_api:c11-builtin
gcc_version:12.2.0
process_id:41
process_supervised:no
run_id:7c1d2b7f0e3c6a4e1b0f2d9e8c7b6a5f4e3d2c1b
tcp_port:6379
server_time_usec:1718000000000000
uptime_in_seconds:3
uptime_in_days:0
hz:10
configured_hz:10
lru_clock:12345678
executable:/usr/bin/redis-server
config_file:/var/lib/lockstorm-redis/redis.conf
io_threads_active:0
`

func TestRedisVersionIsInfoServersRedisVersion(t *testing.T) {
	got, err := redisVersion(strings.ReplaceAll(infoServer, "\n", "\r\n"))
	if err != nil || got != "redis 7.0.15" {
		t.Errorf("redisVersion(INFO server) = %q, %v; want redis 7.0.15", got, err)
	}
	for _, bad := range []string{"", "# Server\r\nredis_mode:standalone\r\n", "redis_version:\r\n"} {
		if got, err := redisVersion(bad); err == nil {
			t.Errorf("redisVersion(%q) = %q, want an error", bad, got)
		}
	}
}

func TestRedisServerVersionBeforeSetupIsAnError(t *testing.T) {
	for _, v := range []interface {
		ServerVersion(context.Context) (string, error)
	}{New(), NewRedlock(), NewSentinel()} {
		if got, err := v.ServerVersion(context.Background()); err == nil {
			t.Errorf("%T: ServerVersion before Setup = %q, want an error", v, got)
		}
	}
}
