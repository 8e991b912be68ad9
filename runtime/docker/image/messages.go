package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// message is one JSON object of the stream that the Docker API returns from
// image build, pull and import.
type message struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// copyMessages writes the text of each message in r to w and returns the
// first error that the daemon reported in the stream, which it writes to w
// too, as the stream's last line. Progress bars are left out so that the
// output is plain lines, fit for a log file.
func copyMessages(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read docker stream: %w", err)
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			fmt.Fprintf(w, "error: %s\n", strings.TrimSpace(msg))
			return errors.New(msg)
		}
		switch {
		case m.Stream != "":
			io.WriteString(w, m.Stream)
		case m.Status != "" && m.ID != "":
			fmt.Fprintf(w, "%s: %s\n", m.ID, strings.TrimSpace(m.Status))
		case m.Status != "":
			fmt.Fprintln(w, strings.TrimSpace(m.Status))
		}
	}
}
