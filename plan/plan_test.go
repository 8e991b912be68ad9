package plan

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/option"
)

func nodes(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{Name: "n" + string(rune('1'+i))}
	}
	return out
}

func TestCommandCarriesEverythingThatShapesTheRun(t *testing.T) {
	p := Plan{
		Target: "etcd", Client: "./mylock.py", Workload: "payment", Variant: "lock", Nemeses: []string{"pause", "kill"},
		TimeLimit: 90 * time.Second, Concurrency: 5, Rate: 50, NemesisInterval: 10 * time.Second,
		Seed: 7, Nodes: nodes(3), TTL: 500 * time.Millisecond, Lease: 2 * time.Second, Hold: 5 * time.Second, HoldAuto: true,
		Wait: 1500 * time.Millisecond, Keys: 1, Fencing: true,
		Options: option.Values{"pause.mode": "holder", "x": "a b"},
	}
	want := "lockstorm run --target etcd --client ./mylock.py --workload payment --variant lock --nemesis pause,kill --time-limit 1m30s" +
		" --concurrency 5 --rate 50 --nemesis-interval 10s --nodes 3 --ttl 500ms --wait 1.5s --hold 5s --keys 1 --fencing" +
		" --opt pause.mode=holder --opt 'x=a b' --seed 7"
	if got := p.Command(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	p.Hold = HoldAuto
	if got := p.Command(); !strings.Contains(got, " --hold auto ") {
		t.Errorf("an unresolved hold reads %q, want --hold auto", got)
	}
	if got := option.FormatDuration(time.Hour); got != "1h" {
		t.Errorf("FormatDuration(1h) = %s", got)
	}
}

// Every setting out of range is refused with the name it has on the
// command line and in a campaign file.
func TestValidateNamesTheSetting(t *testing.T) {
	ok := Default()
	ok.Target = "redis"
	if err := ok.Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	cases := map[string]func(*Plan){
		"time-limit":       func(p *Plan) { p.TimeLimit = 0 },
		"concurrency":      func(p *Plan) { p.Concurrency = 100000 },
		"rate":             func(p *Plan) { p.Rate = math.NaN() },
		"nemesis-interval": func(p *Plan) { p.NemesisInterval = time.Nanosecond },
		"nodes":            func(p *Plan) { p.Nodes = nodes(10) },
		"ttl":              func(p *Plan) { p.TTL = -time.Second },
		"hold":             func(p *Plan) { p.Hold = -2 * time.Millisecond },
		"keys":             func(p *Plan) { p.Keys = 0 },
		"wait":             func(p *Plan) { p.Wait = -1 },
		"seed":             func(p *Plan) { p.Seed = -1 },
		"target":           func(p *Plan) { p.Target = "" },
	}
	for field, mutate := range cases {
		p := ok
		mutate(&p)
		err := p.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrBadPlan) {
			t.Errorf("%s: got %v, want a FieldError for %s", field, err, field)
		}
	}
	tiny := ok
	tiny.Rate = 1e-300
	if err := tiny.Validate(); err == nil {
		t.Error("a rate of 1e-300 was accepted (it would run unlimited)")
	}
	many := ok
	many.Nemeses, many.NemesisInterval, many.TimeLimit = []string{"pause"}, MinInterval, 24*time.Hour
	if err := many.Validate(); err == nil {
		t.Error("a schedule of 864000 faults was accepted")
	}
	auto := ok
	auto.Hold = HoldAuto
	if err := auto.Validate(); err != nil {
		t.Errorf("--hold auto refused: %v", err)
	}
}

func TestCommandCarriesTheJudge(t *testing.T) {
	p := Default()
	p.Target, p.Fencing, p.Judge = "redis", true, []string{"fencing", "liveness"}
	if got := p.Command(); !strings.Contains(got, " --fencing --judge fencing,liveness ") {
		t.Errorf("command %q lacks --judge fencing,liveness", got)
	}
	p.Judge = nil
	if got := p.Command(); strings.Contains(got, "--judge") {
		t.Errorf("command %q of a run judged by every checker names --judge", got)
	}
}
