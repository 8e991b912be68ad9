package natskv

import (
	"context"
	"testing"
)

func TestNatsVersionIsTheAnnouncedVersion(t *testing.T) {
	// The INFO that Debian 12's nats-server sends on connect begins
	// {"server_id":"N...","server_name":"n1","version":"2.9.10",...}:
	// nats.go hands over its version field.
	for announced, want := range map[string]string{"2.9.10": "nats-server 2.9.10", "2.10.22-RC.1": "nats-server 2.10.22"} {
		if got, err := natsVersion(announced); err != nil || got != want {
			t.Errorf("natsVersion(%q) = %q, %v; want %q", announced, got, err, want)
		}
	}
	if got, err := natsVersion(""); err == nil {
		t.Errorf("no version announced gave %q", got)
	}
}

func TestNatsServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := New().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
