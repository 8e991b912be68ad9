package etcd

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestLockRequestEncodesNameAndLease(t *testing.T) {
	b := lockRequest("/lockstorm/api/lock-0", 7587870049938917636)
	num, typ, n := protowire.ConsumeTag(b)
	name, m := protowire.ConsumeBytes(b[n:])
	if num != 1 || typ != protowire.BytesType || string(name) != "/lockstorm/api/lock-0" {
		t.Fatalf("field 1: %d %d %q", num, typ, name)
	}
	b = b[n+m:]
	num, typ, n = protowire.ConsumeTag(b)
	lease, _ := protowire.ConsumeVarint(b[n:])
	if num != 2 || typ != protowire.VarintType || int64(lease) != 7587870049938917636 {
		t.Fatalf("field 2: %d %d %d", num, typ, lease)
	}
}

func TestLockResponseKeySkipsTheHeader(t *testing.T) {
	// header (field 1, a message), then key (field 2).
	var hdr []byte
	hdr = protowire.AppendTag(hdr, 3, protowire.VarintType)
	hdr = protowire.AppendVarint(hdr, 42) // revision
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, hdr)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("/lockstorm/api/lock-0/694d9a1c2b3f4e05"))
	key, err := lockResponseKey(b)
	if err != nil || !bytes.Equal(key, []byte("/lockstorm/api/lock-0/694d9a1c2b3f4e05")) {
		t.Fatalf("key %q, %v", key, err)
	}
	if _, err := lockResponseKey(b[:len(b)-3]); err == nil {
		t.Error("a truncated response was read")
	}
	if _, err := lockResponseKey(b[:len(hdr)+2]); err == nil {
		t.Error("a response without a key was read")
	}
}
