package mariadb

import (
	"context"
	"testing"
)

func TestMariaVersionIsVersionsNumber(t *testing.T) {
	cases := map[string]string{
		"10.11.6-MariaDB-0+deb12u1":      "mariadb 10.11.6",
		"10.11.11-MariaDB-0+deb12u1-log": "mariadb 10.11.11",
	}
	for v, want := range cases {
		if got, err := mariaVersion(v); err != nil || got != want {
			t.Errorf("mariaVersion(%q) = %q, %v; want %q", v, got, err, want)
		}
	}
	if got, err := mariaVersion("MariaDB"); err == nil {
		t.Errorf("no number gave %q", got)
	}
}

func TestMariaServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := New().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
