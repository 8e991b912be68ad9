package etcd

import (
	"context"
	"testing"
)

func TestEtcdVersionIsTheStatusVersion(t *testing.T) {
	for status, want := range map[string]string{"3.4.23": "etcd 3.4.23", "3.5.17\n": "etcd 3.5.17", "3.6.0-rc.1": "etcd 3.6.0"} {
		if got, err := etcdVersion(status); err != nil || got != want {
			t.Errorf("etcdVersion(%q) = %q, %v; want %q", status, got, err, want)
		}
	}
	if got, err := etcdVersion(""); err == nil {
		t.Errorf("an empty status version gave %q", got)
	}
}

func TestEtcdServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := New().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
