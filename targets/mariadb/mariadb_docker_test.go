package mariadb_test

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets/targettest"
)

func TestDockerMariadbGetLockNoFaultRunIsValid(t *testing.T) {
	res := targettest.NoFaultRun(t, "mariadb-getlock", 20*time.Second)
	targettest.RanVersion(t, res, "mariadb 10.11.")
}
