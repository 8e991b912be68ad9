// Package fakeengine serves stand-ins for a container engine on a Unix
// socket: one that accepts connections and never answers, and one that
// answers each call after a delay of the test's choosing. Tests point
// DOCKER_HOST at them to check that lockstorm ends, and says why, when the
// engine stops answering (moby/moby#42545), without ever wedging a real
// engine. They are fakes: nothing here behaves like Docker beyond the
// shape of an HTTP answer.
package fakeengine

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// An Engine is a fake engine listening on a Unix socket.
type Engine struct {
	// Path is the socket's path.
	Path string

	ln    net.Listener
	srv   *http.Server // nil for a silent engine
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

// Host is the engine's address for DOCKER_HOST.
func (e *Engine) Host() string { return "unix://" + e.Path }

// Close stops listening and drops every connection.
func (e *Engine) Close() error {
	close(e.done)
	if e.srv != nil {
		return e.srv.Close()
	}
	err := e.ln.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.conns {
		c.Close()
	}
	return err
}

func listen(dir string) (net.Listener, string, error) {
	path := filepath.Join(dir, "engine.sock")
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("fake engine: %w", err)
	}
	return ln, path, nil
}

// Silent starts an engine in dir that accepts every connection, reads what
// is sent, and never answers.
func Silent(dir string) (*Engine, error) {
	ln, path, err := listen(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{Path: path, ln: ln, done: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	return e, nil
}

// An Answer is what a slow engine does with one call: it waits Delay
// (for ever when Delay is negative), then answers Status with Body as
// JSON, 200 and "OK" where they are left empty.
type Answer struct {
	Delay  time.Duration
	Status int
	Body   string
}

// Slow starts an engine in dir that answers each call as answer says.
// Every answer says that the engine speaks API 1.41.
func Slow(dir string, answer func(method, path string) Answer) (*Engine, error) {
	ln, path, err := listen(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{Path: path, ln: ln, done: make(chan struct{})}
	e.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answer(r.Method, r.URL.Path)
		var wait <-chan time.Time
		if a.Delay >= 0 {
			wait = time.After(a.Delay)
		}
		select {
		case <-wait:
		case <-r.Context().Done():
			return
		case <-e.done:
			return
		}
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		if a.Status == 0 {
			a.Status = http.StatusOK
		}
		if a.Body == "" {
			a.Body = "OK"
		}
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
	})}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}
