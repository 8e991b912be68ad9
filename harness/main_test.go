package harness

import (
	"os"
	"testing"

	"github.com/lockstorm/lockstorm/targets/all"
)

// TestMain registers lockstorm's own targets, as cli.Main does: the tests
// resolve plans that name them.
func TestMain(m *testing.M) {
	all.Register()
	os.Exit(m.Run())
}
