package protocol

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// A Dialer makes the lock client of a process from its init request.
type Dialer func(ctx context.Context, in Init) (targets.Client, error)

// Serve is the client's end of the protocol: it reads requests from r,
// answers on w, and drives the client that dial makes from the init
// request. It returns nil at the end of r, after closing the client, and
// an error for a request that breaks the protocol. Every lock call is
// bounded by the op timeout of the init request.
func Serve(ctx context.Context, r io.Reader, w io.Writer, dial Dialer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var client targets.Client
	var timeout time.Duration
	defer func() {
		if client != nil {
			_ = client.Close()
		}
	}()
	for sc.Scan() {
		req, err := ParseRequest(sc.Bytes())
		if err != nil {
			return fmt.Errorf("request %q: %w", truncate(sc.Bytes()), err)
		}
		rep := Reply{ID: req.ID, Type: TypeOK}
		switch {
		case req.Type == TypeInit && client != nil:
			return fmt.Errorf("%w: a second init", ErrMalformed)
		case req.Type == TypeInit:
			timeout = time.Duration(req.OpTimeoutMillis) * time.Millisecond
			if timeout <= 0 {
				timeout = time.Minute
			}
			if client, err = dial(ctx, *req.Init); err != nil {
				rep = Reply{ID: req.ID, Type: TypeError, Error: err.Error()}
			} else {
				rep.Type = TypeInitOK
				if ch, ok := client.(targets.Checker); ok && ch.CanCheck() {
					rep.Checks = true
				}
			}
		case client == nil:
			return fmt.Errorf("%w: %s before init", ErrMalformed, req.Type)
		default:
			rep = call(ctx, client, req, timeout)
		}
		if err := writeLine(w, rep); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read requests: %w", err)
	}
	return nil
}

// call runs one lock request on client and says how it ended.
func call(ctx context.Context, client targets.Client, req Request, timeout time.Duration) Reply {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := Reply{ID: req.ID, Type: TypeOK}
	var err error
	switch req.Type {
	case TypeAcquire:
		var g targets.Grant
		g, err = client.Acquire(cctx, req.Key)
		rep.Token = g.Token
		rep.Definite = errors.Is(err, targets.ErrNotAcquired)
	case TypeRelease:
		err = client.Release(cctx, req.Key)
		rep.Definite = errors.Is(err, targets.ErrNotHeld)
	case TypeRenew:
		err = errors.New("renew is not supported by this client")
		rep.Definite = true
	case TypeCheck:
		ch, ok := client.(targets.Checker)
		if !ok || !ch.CanCheck() {
			// Not a loss: the client cannot tell.
			err = errors.New("check is not supported by this client")
			break
		}
		err = ch.Check(cctx, req.Key)
		rep.Definite = errors.Is(err, targets.ErrLost)
	}
	rep.Node = client.Node()
	if err != nil {
		rep.Type, rep.Token, rep.Error = TypeError, nil, err.Error()
	}
	return rep
}
