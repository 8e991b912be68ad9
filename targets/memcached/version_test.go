package memcached

import (
	"context"
	"testing"
)

func TestMemcachedVersionIsTheVersionReply(t *testing.T) {
	if got, err := memcachedVersion("VERSION 1.6.18\r\n"); err != nil || got != "memcached 1.6.18" {
		t.Errorf("memcachedVersion = %q, %v; want memcached 1.6.18", got, err)
	}
	for _, bad := range []string{"", "ERROR\r\n", "SERVER_ERROR out of memory\r\n", "VERSION \r\n"} {
		if got, err := memcachedVersion(bad); err == nil {
			t.Errorf("memcachedVersion(%q) = %q, want an error", bad, got)
		}
	}
}

func TestMemcachedServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := New().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
