package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ServerVersionOf makes a Versioner's answer from what a server said of
// its version: "<server> <version>", where the version is the leading
// dotted number of said ("15.10 (Debian 15.10-0+deb12u1)" gives 15.10,
// "10.11.6-MariaDB-0+deb12u1" gives 10.11.6), builds and distributions
// left out. It is an error when said does not start with a number.
func ServerVersionOf(server, said string) (string, error) {
	said = strings.TrimSpace(said)
	n := 0
	for n < len(said) && (said[n] >= '0' && said[n] <= '9' || said[n] == '.' && n > 0) {
		n++
	}
	v := strings.TrimRight(said[:n], ".")
	if v == "" {
		return "", fmt.Errorf("%s: no version in %q", server, said)
	}
	return server + " " + v, nil
}

// FirstAnswer asks nodes in turn, each for at most each of ctx's time,
// and returns the first answer: the version of the first server that
// answers, so that one that is down does not use up the whole deadline.
// It returns every node's error when none answers, and stops when ctx
// ends.
func FirstAnswer(ctx context.Context, nodes []string, each time.Duration, ask func(ctx context.Context, node string) (string, error)) (string, error) {
	if len(nodes) == 0 {
		return "", errors.New("no nodes to ask")
	}
	var errs []error
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return "", errors.Join(append(errs, err)...)
		}
		actx, cancel := context.WithTimeout(ctx, each)
		v, err := ask(actx, n)
		cancel()
		if err == nil {
			return v, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", n, err))
	}
	return "", errors.Join(errs...)
}

// TimeLeft is how long ctx has left, at most limit: the timeout of a call
// that takes a duration rather than a context.
func TimeLeft(ctx context.Context, limit time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(min(time.Until(d), limit), 0)
	}
	return limit
}
