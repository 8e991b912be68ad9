package natskv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// wrongLastSeq is the error nats.go v1.55.0 returns for a conditional
// Update or Delete that the stream refused: publishMsg's "nats: %w" of
// the ack's API error, wrapped by mapRevisionMismatch.
func wrongLastSeq(code jetstream.ErrorCode) error {
	apiErr := &jetstream.APIError{Code: 400, ErrorCode: code, Description: "wrong last sequence: 13"}
	return fmt.Errorf("%w: %w", fmt.Errorf("nats: %w", apiErr), jetstream.ErrKeyRevisionMismatch)
}

func TestClassifyPublish(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want pubOutcome
	}{
		{"no error", nil, pubStored},
		{"wrong last sequence (10071)", wrongLastSeq(jetstream.JSErrCodeStreamWrongLastSequence), pubConflict},
		{"wrong last sequence, replicated stream (10164)", wrongLastSeq(jetstream.JSErrCodeStreamWrongLastSequenceConstant), pubConflict},
		{"no responders, after the library's retries", jetstream.ErrNoStreamResponse, pubNoResponse},
		{"no responders", nats.ErrNoResponders, pubNoResponse},
		{"deadline", context.DeadlineExceeded, pubUnknown},
		{"wrapped deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), pubUnknown},
		{"timeout", nats.ErrTimeout, pubUnknown},
		{"disconnected", nats.ErrDisconnected, pubUnknown},
		{"connection closed", nats.ErrConnectionClosed, pubUnknown},
		{"garbled ack", jetstream.ErrInvalidJSAck, pubUnknown},
		{"another server error", fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}), pubUnknown},
		{"some other error", errors.New("boom"), pubUnknown},
	} {
		if got := classifyPublish(tc.err); got != tc.want {
			t.Errorf("%s: classifyPublish(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestIsDeleteMarker(t *testing.T) {
	for _, tc := range []struct {
		h    nats.Header
		want bool
	}{
		{nil, false},
		{nats.Header{"Nats-Expected-Last-Subject-Sequence": {"0"}}, false}, // a value put by Update
		{nats.Header{"KV-Operation": {"DEL"}}, true},
		{nats.Header{"KV-Operation": {"PURGE"}, "Nats-Rollup": {"sub"}}, true},
		{nats.Header{"KV-Operation": {"PUT"}}, false},
		{nats.Header{jetstream.MarkerReasonHeader: {"MaxAge"}}, true},
		{nats.Header{jetstream.MarkerReasonHeader: {"Remove"}}, true},
		{nats.Header{jetstream.MarkerReasonHeader: {"Other"}}, false},
	} {
		if got := isDeleteMarker(tc.h); got != tc.want {
			t.Errorf("isDeleteMarker(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// fakeStore is a fake keyStore: it answers Update calls from a script and
// LastMsg with a fixed message or error, and records the revisions that
// the Updates expected.
type fakeStore struct {
	updates  []error // the errors of successive Updates; nil: stored
	last     *jetstream.RawStreamMsg
	lastErr  error
	expected []uint64
}

func (f *fakeStore) Update(_ context.Context, _ string, _ []byte, revision uint64) (uint64, error) {
	f.expected = append(f.expected, revision)
	err := f.updates[0]
	f.updates = f.updates[1:]
	if err != nil {
		return 0, err
	}
	return 14, nil
}

func (f *fakeStore) LastMsg(context.Context, string) (*jetstream.RawStreamMsg, error) {
	return f.last, f.lastErr
}

func TestCreateClassifiesEachPublish(t *testing.T) {
	conflict := wrongLastSeq(jetstream.JSErrCodeStreamWrongLastSequence)
	conflictR3 := wrongLastSeq(jetstream.JSErrCodeStreamWrongLastSequenceConstant)
	marker := &jetstream.RawStreamMsg{Sequence: 13, Header: nats.Header{"KV-Operation": {"DEL"}}}
	value := &jetstream.RawStreamMsg{Sequence: 12, Header: nats.Header{}}
	for _, tc := range []struct {
		name         string
		store        fakeStore
		want         pubOutcome
		wantExpected []uint64
	}{
		{"a new key", fakeStore{updates: []error{nil}}, pubStored, []uint64{0}},
		{"a held key", fakeStore{updates: []error{conflict}, last: value}, pubConflict, []uint64{0}},
		{"a deleted key", fakeStore{updates: []error{conflict, nil}, last: marker}, pubStored, []uint64{0, 13}},
		{"a deleted key, another client first", fakeStore{updates: []error{conflictR3, conflictR3}, last: marker}, pubConflict, []uint64{0, 13}},
		{"a deleted key, the second put unanswered", fakeStore{updates: []error{conflict, context.DeadlineExceeded}, last: marker}, pubUnknown, []uint64{0, 13}},
		{"a key that aged out in between", fakeStore{updates: []error{conflict}, lastErr: jetstream.ErrMsgNotFound}, pubConflict, []uint64{0}},
		{"no server took the put", fakeStore{updates: []error{jetstream.ErrNoStreamResponse}}, pubNoResponse, []uint64{0}},
		// kv.Create would read the key after this error and try again
		// with the marker's revision, and a "wrong last sequence" then
		// (maybe our own first put) would read as "key exists". The
		// first put may have been stored: the answer is unknown, and
		// nothing more is sent.
		{"the first put garbled", fakeStore{updates: []error{jetstream.ErrInvalidJSAck}, last: marker}, pubUnknown, []uint64{0}},
		{"the first put unanswered", fakeStore{updates: []error{context.DeadlineExceeded}, last: marker}, pubUnknown, []uint64{0}},
	} {
		_, got, err := create(context.Background(), &tc.store, "lock.k", []byte("p1"))
		if got != tc.want {
			t.Errorf("%s: outcome %d (%v), want %d", tc.name, got, err, tc.want)
		}
		if fmt.Sprint(tc.store.expected) != fmt.Sprint(tc.wantExpected) {
			t.Errorf("%s: the puts expected revisions %v, want %v", tc.name, tc.store.expected, tc.wantExpected)
		}
	}
}

// TestLibraryErrorMatching pins two facts of nats.go v1.55.0 that the
// binding's classification rests on.
func TestLibraryErrorMatching(t *testing.T) {
	// A raw "wrong last sequence" (10071), as kv.Create returns from its
	// second put, matches ErrKeyExists by its code alone: the old binding
	// read it as "busy" whatever the first put's outcome.
	raw := fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence, Description: "wrong last sequence: 13"})
	if !errors.Is(raw, jetstream.ErrKeyExists) {
		t.Error("a raw 10071 no longer matches jetstream.ErrKeyExists")
	}
	// The jetstream package turns "no responders" into ErrNoStreamResponse,
	// which does not match nats.ErrNoResponders.
	if errors.Is(jetstream.ErrNoStreamResponse, nats.ErrNoResponders) {
		t.Error("jetstream.ErrNoStreamResponse now matches nats.ErrNoResponders")
	}
}
