// Package protocol is lockstorm's client protocol (docs/protocol.md): the
// JSON lines that the harness writes to a client process's standard input
// and that the client answers on its standard output. Conn is the
// harness's end; Serve is the client's end, which `lockstorm client` runs
// around lockstorm's own Go bindings and which clients in any language
// mirror.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The request types.
const (
	TypeInit    = "init"
	TypeAcquire = "acquire"
	TypeRelease = "release"
	TypeRenew   = "renew"
	TypeCheck   = "check"
)

// The reply types.
const (
	TypeInitOK = "init_ok"
	TypeOK     = "ok"
	TypeError  = "error"
)

// MaxLine bounds one line of either side.
const MaxLine = 1 << 20

// ErrInitRefused is wrapped by Init's error when the client answered init
// with an error: it could not start (its servers did not answer, say),
// and a later attempt may succeed.
var ErrInitRefused = errors.New("refused init")

// ErrMalformed is wrapped by every error about a line that is not a valid
// message: the other side broke the protocol.
var ErrMalformed = errors.New("not a valid protocol message")

// A Request is one line from the harness.
type Request struct {
	// ID numbers the request; the reply echoes it.
	ID int64 `json:"id"`
	// Type is init, acquire, release, renew or check.
	Type string `json:"type"`
	// Key is the lock of an acquire, release, renew or check.
	Key string `json:"key,omitempty"`
	// Init carries the fields of an init request.
	*Init
}

// Init is what a client learns before its first lock call: who it is, the
// servers, the keys, the lease and the budgets, and the target's options.
type Init struct {
	// Process is the client's process id in the history.
	Process int `json:"process"`
	// Target names the lock service, e.g. "redis".
	Target string `json:"target"`
	// Node is the node the client should talk to first (round-robin
	// over the nodes); a service with one entry point may ignore it.
	Node string `json:"node"`
	// Nodes are the servers: name, address and ports by role.
	Nodes []Node `json:"nodes"`
	// Keys are the lock keys of the run.
	Keys []string `json:"keys"`
	// TTLMillis is the lease asked for; LeaseMillis the lease the service
	// honours (0: grants never expire).
	TTLMillis   int64 `json:"ttl_ms"`
	LeaseMillis int64 `json:"lease_ms"`
	// WaitMillis is how long one acquire may wait and retry before it
	// gives up; OpTimeoutMillis is when the harness stops waiting for a
	// reply and counts the call as indeterminate.
	WaitMillis      int64 `json:"wait_ms"`
	OpTimeoutMillis int64 `json:"op_timeout_ms"`
	// Options are the run's --opt settings.
	Options map[string]string `json:"options,omitempty"`
}

// A Node is one server of the service.
type Node struct {
	Name  string         `json:"name"`
	IP    string         `json:"ip"`
	Ports map[string]int `json:"ports,omitempty"`
}

// A Reply is one line from the client.
type Reply struct {
	// ID is the ID of the request it answers.
	ID int64 `json:"id"`
	// Type is init_ok, ok or error.
	Type string `json:"type"`
	// Token is the fencing token of an acquire, where the lock has one.
	Token *int64 `json:"token,omitempty"`
	// Node names the node the client talked to, if it knows.
	Node string `json:"node,omitempty"`
	// Error says what went wrong.
	Error string `json:"error,omitempty"`
	// Definite, on an error, says that the call certainly had no effect
	// (recorded as fail); without it the outcome is unknown (info). On a
	// check, it says that the client knows it lost the lock.
	Definite bool `json:"definite,omitempty"`
	// Checks, on init_ok, says that the client answers check requests.
	Checks bool `json:"checks,omitempty"`
}

// decodeLine reads one message from a line, refusing unknown fields (a
// misspelt "tokn" must not drop a token) and anything after the object.
func decodeLine(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: more than one JSON value on the line", ErrMalformed)
	}
	return nil
}

// ParseReply reads a reply from one line.
func ParseReply(line []byte) (Reply, error) {
	var r Reply
	if err := decodeLine(line, &r); err != nil {
		return r, err
	}
	switch r.Type {
	case TypeInitOK, TypeOK:
	case TypeError:
		if strings.TrimSpace(r.Error) == "" {
			return r, fmt.Errorf("%w: an error reply without an error", ErrMalformed)
		}
	default:
		return r, fmt.Errorf("%w: reply type %q (want init_ok, ok or error)", ErrMalformed, r.Type)
	}
	return r, nil
}

// ParseRequest reads a request from one line.
func ParseRequest(line []byte) (Request, error) {
	var r Request
	if err := decodeLine(line, &r); err != nil {
		return r, err
	}
	switch r.Type {
	case TypeInit:
		if r.Init == nil {
			r.Init = &Init{}
		}
	case TypeAcquire, TypeRelease, TypeRenew, TypeCheck:
		if r.Key == "" {
			return r, fmt.Errorf("%w: %s without a key", ErrMalformed, r.Type)
		}
		if r.Init != nil && r.Init.Target != "" {
			return r, fmt.Errorf("%w: init fields on a %s", ErrMalformed, r.Type)
		}
	default:
		return r, fmt.Errorf("%w: request type %q", ErrMalformed, r.Type)
	}
	return r, nil
}

// writeLine writes v as one JSON line.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
