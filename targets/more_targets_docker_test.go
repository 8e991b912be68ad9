package targets_test

import (
	"testing"
	"time"
)

// The targets added with issue 17, each valid for 20 s without faults.

func TestDockerMariadbGetLockNoFaultRunIsValid(t *testing.T) {
	noFaultRun(t, "mariadb-getlock", 20*time.Second)
}

func TestDockerMemcachedNoFaultRunIsValid(t *testing.T) {
	noFaultRun(t, "memcached", 20*time.Second)
}

func TestDockerNatsKVNoFaultRunIsValid(t *testing.T) {
	noFaultRun(t, "nats-kv", 20*time.Second)
}

func TestDockerEtcdElectionNoFaultRunIsValid(t *testing.T) {
	noFaultRun(t, "etcd-election", 20*time.Second)
}
