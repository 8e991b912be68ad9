package targets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestServerVersionOfKeepsTheLeadingDottedNumber(t *testing.T) {
	cases := []struct{ server, said, want string }{
		{"etcd", "3.4.23", "etcd 3.4.23"},
		{"postgresql", "15.10 (Debian 15.10-0+deb12u1)", "postgresql 15.10"},
		{"mariadb", "10.11.6-MariaDB-0+deb12u1", "mariadb 10.11.6"},
		{"zookeeper", "3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC", "zookeeper 3.8.0"},
		{"nats-server", " 2.9.10\n", "nats-server 2.9.10"},
		{"redis", "7.0.", "redis 7.0"},
	}
	for _, c := range cases {
		if got, err := ServerVersionOf(c.server, c.said); err != nil || got != c.want {
			t.Errorf("ServerVersionOf(%q, %q) = %q, %v; want %q", c.server, c.said, got, err, c.want)
		}
	}
	for _, said := range []string{"", "  ", "v3.4", ".5", "unknown"} {
		if got, err := ServerVersionOf("etcd", said); err == nil {
			t.Errorf("ServerVersionOf(etcd, %q) = %q, want an error", said, got)
		}
	}
}

func TestFirstAnswerSkipsNodesThatDoNotAnswer(t *testing.T) {
	var asked []string
	v, err := FirstAnswer(context.Background(), []string{"n1", "n2", "n3"}, 50*time.Millisecond, func(ctx context.Context, n string) (string, error) {
		asked = append(asked, n)
		if n == "n1" {
			<-ctx.Done() // a paused server: the node's own deadline ends it
			return "", ctx.Err()
		}
		return "redis 7.0.15 from " + n, nil
	})
	if err != nil || v != "redis 7.0.15 from n2" || strings.Join(asked, ",") != "n1,n2" {
		t.Errorf("FirstAnswer = %q, %v after asking %v; want n2's answer after n1, n2", v, err, asked)
	}
	_, err = FirstAnswer(context.Background(), []string{"n1", "n2"}, time.Second, func(context.Context, string) (string, error) {
		return "", errors.New("connection refused")
	})
	if err == nil || !strings.Contains(err.Error(), "n1: connection refused") || !strings.Contains(err.Error(), "n2: connection refused") {
		t.Errorf("no node answers: %v; want both errors", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FirstAnswer(ctx, []string{"n1"}, time.Second, func(context.Context, string) (string, error) { return "x 1", nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("an ended ctx: %v", err)
	}
	if _, err := FirstAnswer(context.Background(), nil, time.Second, nil); err == nil {
		t.Error("no nodes: no error")
	}
}

func TestTimeLeftIsBoundedByTheDeadline(t *testing.T) {
	if d := TimeLeft(context.Background(), 2*time.Second); d != 2*time.Second {
		t.Errorf("no deadline: %s", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if d := TimeLeft(ctx, 2*time.Second); d > 500*time.Millisecond || d < 400*time.Millisecond {
		t.Errorf("500ms left: %s", d)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if d := TimeLeft(past, time.Second); d != 0 {
		t.Errorf("past deadline: %s", d)
	}
}
