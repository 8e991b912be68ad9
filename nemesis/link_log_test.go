package nemesis

import (
	"testing"

	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
)

// The bandwidth toxic logs through zerolog's global logger when it is
// interrupted (every heal of a bandwidth fault): nothing of it may reach
// the terminal.
func TestToxiproxyGlobalLoggerIsSilenced(t *testing.T) {
	if lvl := zlog.Logger.GetLevel(); lvl != zerolog.Disabled {
		t.Fatalf("zerolog's global logger is at level %v; toxiproxy's bandwidth toxic would write trace lines on the terminal", lvl)
	}
}
