package ssh

import (
	"fmt"
	"log/slog"
	"strings"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(strings.TrimSpace(s), n) }
