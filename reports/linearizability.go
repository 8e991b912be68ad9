package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
)

// maxLinPage bounds linearizability.html. The checker already draws at most
// a few thousand operations; this is the backstop.
const maxLinPage = 16 << 20

// errTooBig is returned by cappedBuffer when the page outgrows maxLinPage.
var errTooBig = errors.New("page too large")

// linPage is the data of the page shown when no visualization can be made.
type linPage struct {
	Reason    string
	Ops, Keys int
	Common
}

// WriteLinearizability writes a run's linearizability.html: porcupine's
// visualization, drawn by checker.Visualize, of the part of the history
// where no legal order exists (or of the first key, when every key is
// linearizable), with the history's data in a JSON block apart from the
// view's script (dataBlock). When there is nothing to draw, or the drawing
// would be larger than 16 MB, the page says so instead.
func WriteLinearizability(w io.Writer, h history.History) error {
	buf := &cappedBuffer{limit: maxLinPage}
	err := checker.Visualize(shownStrings(h), buf, checker.VisualizeOptions{})
	switch {
	case err == nil:
		page, err := dataBlock(buf.Bytes())
		if err != nil {
			return writeLinUnavailable(w, h, "The linearizability view could not be drawn: "+err.Error())
		}
		if _, err := w.Write(neutralise(page)); err != nil {
			return fmt.Errorf("write linearizability page: %w", err)
		}
		return nil
	case errors.Is(err, checker.ErrNoLockOps):
		return writeLinUnavailable(w, h, "The history has no completed acquire or release to draw.")
	case errors.Is(err, errTooBig):
		return writeLinUnavailable(w, h, "The linearizability view of this history would be larger than 16 MB, so it was not written.")
	}
	return writeLinUnavailable(w, h, "The linearizability view could not be drawn: "+err.Error())
}

func writeLinUnavailable(w io.Writer, h history.History, reason string) error {
	p := linPage{Reason: reason, Ops: len(h), Keys: len(h.Keys()), Common: common()}
	if err := writePage(w, "lin.html", p); err != nil {
		return fmt.Errorf("linearizability page: %w", err)
	}
	return nil
}

// cappedBuffer is a buffer that refuses to grow past limit.
type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.limit {
		return 0, errTooBig
	}
	return c.Buffer.Write(p)
}
