package memcached

import (
	"bufio"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// fakeMetaServer answers memcached meta commands from a script: each line
// received is looked up in answers, which gives the raw reply.
func fakeMetaServer(t *testing.T, answers map[string]string) (addr string, got func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var lines []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					l = strings.TrimRight(l, "\r\n")
					mu.Lock()
					lines = append(lines, l)
					mu.Unlock()
					c.Write([]byte(answers[l]))
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(lines) }
}

func TestCheckedDeleteDeletesOnlyWhileTheValueIsOurs(t *testing.T) {
	const k = "lockstorm-lock:lock-0"
	for _, tc := range []struct {
		name    string
		answers map[string]string
		notHeld bool
		deleted bool
	}{
		{"ours", map[string]string{"mg " + k + " v c": "VA 5 c42\r\nours!\r\n", "md " + k + " C42": "HD\r\n"}, false, true},
		{"gone", map[string]string{"mg " + k + " v c": "EN\r\n"}, true, false},
		{"another holder", map[string]string{"mg " + k + " v c": "VA 6 c43\r\ntheirs\r\n"}, true, false},
		{"changed between", map[string]string{"mg " + k + " v c": "VA 5 c42\r\nours!\r\n", "md " + k + " C42": "EX\r\n"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, got := fakeMetaServer(t, tc.answers)
			c := &memcachedClient{addr: addr}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := c.checkedDelete(ctx, "lock-0", "ours!")
			if tc.notHeld != errors.Is(err, targets.ErrNotHeld) || !tc.notHeld && err != nil {
				t.Fatalf("err %v, want not held %v", err, tc.notHeld)
			}
			sentDelete := false
			for _, l := range got() {
				sentDelete = sentDelete || strings.HasPrefix(l, "md ")
			}
			if sentDelete != tc.deleted {
				t.Errorf("sent %q; a delete was sent: %v, want %v", got(), sentDelete, tc.deleted)
			}
		})
	}
}
