package harness

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// teeHandler sends every record to both handlers (the run log and the
// console), each filtering by its own level.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		if e := t.b.Handle(ctx, r.Clone()); err == nil {
			err = e
		}
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// WorkloadLabel names the workload with its variant, e.g.
// "payment-idempotency-key", for cell and directory names.
func WorkloadLabel(rc store.RunConfig) string {
	if rc.Variant == "" {
		return rc.Workload
	}
	return rc.Workload + "-" + rc.Variant
}

func joinNames(names []string) string { return strings.Join(names, ",") }

// ReproduceCommand returns the lockstorm command line that runs rc again
// with the same seed, and so the same fault schedule.
func ReproduceCommand(rc store.RunConfig) string {
	nem := joinNames(rc.Nemeses)
	if nem == "" {
		nem = "none"
	}
	parts := []string{
		"lockstorm run",
		"--target " + rc.Target,
		"--workload " + rc.Workload,
	}
	if rc.Variant != "" {
		parts = append(parts, "--variant "+shellQuote(rc.Variant))
	}
	parts = append(parts,
		"--nemesis "+nem,
		"--time-limit "+fmtDur(rc.TimeLimit),
		fmt.Sprintf("--concurrency %d", rc.Concurrency),
		fmt.Sprintf("--rate %g", rc.Rate),
	)
	if len(rc.Nemeses) > 0 {
		parts = append(parts, "--nemesis-interval "+fmtDur(rc.NemesisInterval))
	}
	parts = append(parts,
		fmt.Sprintf("--nodes %d", rc.Nodes),
		"--ttl "+fmtDur(rc.TTL),
		"--hold "+fmtHold(rc.Hold),
		fmt.Sprintf("--keys %d", rc.Keys),
	)
	if rc.Fencing {
		parts = append(parts, "--fencing")
	}
	keys := make([]string, 0, len(rc.Options))
	for k := range rc.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, "--opt "+shellQuote(k+"="+rc.Options[k]))
	}
	parts = append(parts, fmt.Sprintf("--seed %d", rc.Seed))
	return strings.Join(parts, " ")
}

func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.=/:,+", c)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fmtHold is fmtDur, or "auto" for HoldAuto (a run that ended before its
// target was set up).
func fmtHold(d time.Duration) string {
	if d == HoldAuto {
		return "auto"
	}
	return fmtDur(d)
}
