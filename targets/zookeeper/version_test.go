package zookeeper

import (
	"context"
	"testing"
)

// srvrAnswer is a ZooKeeper 3.8.0 follower's answer to srvr.
const srvrAnswer = `Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC
Latency min/avg/max: 0/0.4286/3
Received: 15
Sent: 14
Connections: 1
Outstanding: 0
Zxid: 0x100000003
Mode: follower
Node count: 6
`

func TestZkVersionIsSrvrsVersion(t *testing.T) {
	cases := map[string]string{
		srvrAnswer: "zookeeper 3.8.0",
		// A build without a git revision, with another date format.
		"Zookeeper version: 3.8.0--1, built on Mon, 30 Jan 2023 10:10:10 +0000\nMode: leader\n": "zookeeper 3.8.0",
	}
	for srvr, want := range cases {
		if got, err := zkVersion(srvr); err != nil || got != want {
			t.Errorf("zkVersion(%q) = %q, %v; want %q", srvr, got, err, want)
		}
	}
	for _, bad := range []string{"", "This ZooKeeper instance is not currently serving requests\n", "Zookeeper version: , built on\n"} {
		if got, err := zkVersion(bad); err == nil {
			t.Errorf("zkVersion(%q) = %q, want an error", bad, got)
		}
	}
}

func TestZkServerVersionBeforeSetupIsAnError(t *testing.T) {
	if v, err := New().ServerVersion(context.Background()); err == nil {
		t.Errorf("ServerVersion before Setup = %q, want an error", v)
	}
}
