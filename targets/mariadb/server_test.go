package mariadb

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

func TestMariadbConnLifetimeIsForThePooledBindingOnly(t *testing.T) {
	for _, tc := range []struct {
		opts    option.Values
		wantErr string
	}{
		{opts: option.Values{"mariadb.connection": "pooled", "mariadb.conn-lifetime": "5s"}},
		{opts: option.Values{"mariadb.connection": "pooled"}},
		{opts: option.Values{}},
		{opts: option.Values{"mariadb.conn-lifetime": "5s"}, wantErr: "pooled only"},
		{opts: option.Values{"mariadb.connection": "pinned", "mariadb.conn-lifetime": "5s"}, wantErr: "pooled only"},
	} {
		lease, err := New().Prepare(&plan.Plan{Options: tc.opts})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.opts, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one saying %q", tc.opts, err, tc.wantErr)
		case lease != 0:
			t.Errorf("%v: lease %s, want 0 (a named lock has no expiry)", tc.opts, lease)
		}
	}
}
