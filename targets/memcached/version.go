package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: the text protocol's version
// command on a connection of its own, which reads no item.
func (m *Service) ServerVersion(ctx context.Context) (string, error) {
	if m.addr == "" {
		return "", errors.New("memcached: not set up")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(targets.TimeLeft(ctx, 5*time.Second)))
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return memcachedVersion(line)
}

// memcachedVersion is the Versioner's answer for the reply to version
// ("VERSION 1.6.18\r\n" gives "memcached 1.6.18").
func memcachedVersion(reply string) (string, error) {
	v, ok := strings.CutPrefix(strings.TrimSpace(reply), "VERSION ")
	if !ok {
		return "", fmt.Errorf("memcached: %q is no answer to version", strings.TrimSpace(reply))
	}
	return targets.ServerVersionOf("memcached", v)
}

var _ targets.Versioner = (*Service)(nil)
