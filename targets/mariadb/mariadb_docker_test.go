package mariadb_test

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets/targettest"
)

func TestDockerMariadbGetLockNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "mariadb-getlock", 20*time.Second)
}
