package harness

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// versioned is a service that says its version, or fails to, or takes
// until the deadline.
type versioned struct {
	targets.Service
	version string
	err     error
	hang    bool
}

func (v versioned) ServerVersion(ctx context.Context) (string, error) {
	if v.hang {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return v.version, v.err
}

// The version a service reports after Setup goes into the run's result
// and its log; one that cannot say, fails or takes too long leaves it
// empty, with a warning, and the run goes on.
func TestTheRunRecordsTheVersionTheServerReports(t *testing.T) {
	ask := func(s targets.Service, ctx context.Context) (string, string) {
		var log bytes.Buffer
		r := &run{Resolved: &Resolved{Service: s}, log: slog.New(slog.NewTextHandler(&log, nil))}
		r.askVersion(ctx)
		return r.res.ServerVersion, log.String()
	}
	got, log := ask(versioned{version: "etcd 3.4.23"}, context.Background())
	if got != "etcd 3.4.23" || !strings.Contains(log, `msg=server version="etcd 3.4.23"`) {
		t.Errorf("recorded %q, logged %q", got, log)
	}
	got, log = ask(versioned{err: errors.New("connection refused")}, context.Background())
	if got != "" || !strings.Contains(log, "level=WARN") || !strings.Contains(log, "connection refused") {
		t.Errorf("a failure: recorded %q, logged %q", got, log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	got, log = ask(versioned{hang: true}, ctx)
	if got != "" || !strings.Contains(log, "deadline exceeded") {
		t.Errorf("a server that does not answer: recorded %q, logged %q", got, log)
	}
	got, log = ask(struct{ targets.Service }{}, context.Background())
	if got != "" || log != "" {
		t.Errorf("a service that cannot say: recorded %q, logged %q", got, log)
	}
}
