package postgres

import (
	"context"
	"testing"
)

func TestPgVersionIsServerVersionsNumber(t *testing.T) {
	cases := map[string]string{
		"15.10 (Debian 15.10-0+deb12u1)": "postgresql 15.10",
		"15.6":                           "postgresql 15.6",
		"16beta1":                        "postgresql 16",
	}
	for sv, want := range cases {
		if got, err := pgVersion(sv); err != nil || got != want {
			t.Errorf("pgVersion(%q) = %q, %v; want %q", sv, got, err, want)
		}
	}
	if got, err := pgVersion(""); err == nil {
		t.Errorf("an empty server_version gave %q", got)
	}
}

func TestPgServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := NewAdvisory().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
