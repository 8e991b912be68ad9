package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/lockstorm/lockstorm/campaign"
	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/internal/printable"
	"github.com/lockstorm/lockstorm/store"
)

// isTerminal reports whether w, or the writer under a neutralising writer,
// is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := rawWriter(w).(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// rawWriter returns the writer under a neutralising printable.Writer, or w.
// The progress bar writes its own control sequences, so it is the one
// writer that must not be neutralised; what it shows is neutralised
// instead.
func rawWriter(w io.Writer) io.Writer {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		return u.Unwrap()
	}
	return w
}

// barProgress is the live display of a campaign on a terminal: runs done of
// total, the current cell and its phase, elapsed time, ETA, and violations
// found so far.
type barProgress struct {
	p          *mpb.Progress
	bar        *mpb.Bar
	mu         sync.Mutex
	current    string
	phase      string
	violations int
	last       time.Time
}

func newBarProgress(w io.Writer) *barProgress {
	return &barProgress{p: mpb.New(mpb.WithOutput(rawWriter(w)), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))}
}

func (b *barProgress) Start(total int) {
	b.last = time.Now()
	b.bar = b.p.AddBar(int64(total),
		mpb.PrependDecorators(
			decor.Name("lockstorm ", decor.WCSyncSpaceR),
			decor.CountersNoUnit("%d/%d runs", decor.WCSyncWidth),
		),
		mpb.AppendDecorators(
			decor.Elapsed(decor.ET_STYLE_MMSS, decor.WCSyncSpace),
			decor.Name(" eta "),
			decor.AverageETA(decor.ET_STYLE_MMSS),
			decor.Any(func(decor.Statistics) string {
				b.mu.Lock()
				defer b.mu.Unlock()
				return fmt.Sprintf("  violations %d  %s [%s]", b.violations, b.current, b.phase)
			}),
		),
	)
}

func (b *barProgress) CellStart(c campaign.Cell, run, runs int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.current = printable.String(fmt.Sprintf("%s (%d/%d)", c.Name, run, runs))
	b.phase = "starting"
}

func (b *barProgress) Phase(_ campaign.Cell, phase string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.phase = printable.String(phase)
}

func (b *barProgress) CellDone(c campaign.Cell, res store.RunResult) {
	b.mu.Lock()
	if campaign.Judged(res, c.Judge) == checker.Invalid {
		b.violations++
	}
	b.mu.Unlock()
	b.bar.EwmaIncrement(time.Since(b.last))
	b.last = time.Now()
}

func (b *barProgress) Finish() {
	if b.bar != nil && !b.bar.Completed() {
		b.bar.Abort(false)
	}
	b.p.Wait()
}

// Log discards the runs' console lines: they would tear the bar. Each
// run's run.log keeps them.
func (b *barProgress) Log() io.Writer { return nil }

// lineProgress prints plain lines, for logs and CI.
type lineProgress struct {
	w     io.Writer
	mu    sync.Mutex
	total int
	done  int
	start time.Time
}

func (l *lineProgress) Start(total int) {
	l.total, l.start = total, time.Now()
	l.printf("campaign: %d runs", total)
}

func (l *lineProgress) CellStart(c campaign.Cell, run, runs int) {
	l.printf("[%d/%d] %s: run %d/%d (%s, expect %s)", l.done+1, l.total, c.Name, run, runs, strings.Join(append([]string{c.Target, c.Workload}, c.NemesisName()), " × "), c.Expect)
}

func (l *lineProgress) Phase(campaign.Cell, string) {}

func (l *lineProgress) CellDone(c campaign.Cell, res store.RunResult) {
	l.mu.Lock()
	l.done++
	l.mu.Unlock()
	verdict := strings.ToUpper(string(res.Status))
	if len(c.Judge) > 0 {
		all := res.AllCheckers
		if all == "" {
			all = res.Status
		}
		verdict = fmt.Sprintf("%s by %s (%s over all checkers)", strings.ToUpper(string(campaign.Judged(res, c.Judge))),
			strings.Join(c.Judge, ", "), all)
	}
	l.printf("[%d/%d] %s: %s after %s: %s", l.done, l.total, c.Name, verdict, res.Duration.Round(time.Second), res.Summary)
}

func (l *lineProgress) Finish() {
	l.printf("campaign: %d runs in %s", l.done, time.Since(l.start).Round(time.Second))
}

func (l *lineProgress) Log() io.Writer { return nil }

func (l *lineProgress) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
