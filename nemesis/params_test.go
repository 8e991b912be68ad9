package nemesis

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// Each nemesis's typed parameters go into the event's map and come back
// the same, for every mode that has parameters.
func TestParamsRoundTrip(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	cases := []struct {
		name   string
		mode   string
		encode func() map[string]string
		want   map[string]string
		decode func(plan.Event) (any, error)
		typed  any
	}{
		{"clock", clockBump, func() map[string]string {
			return clockParams{Offset: -90 * time.Second, Period: time.Second}.encode(clockBump)
		},
			map[string]string{"offset": "-1m30s"}, func(ev plan.Event) (any, error) { return decodeClockParams(ev) },
			clockParams{Offset: -90 * time.Second}},
		{"clock", clockStrobe, func() map[string]string {
			return clockParams{Offset: 4 * time.Second, Period: 50 * time.Millisecond}.encode(clockStrobe)
		}, map[string]string{"offset": "4s", "period": "50ms"}, func(ev plan.Event) (any, error) { return decodeClockParams(ev) },
			clockParams{Offset: 4 * time.Second, Period: 50 * time.Millisecond}},
		{"kill", "one", func() map[string]string { return killParams{}.encode() },
			map[string]string{"restart-delay": "0s"}, func(ev plan.Event) (any, error) { return decodeKillParams(ev) },
			killParams{}},
		{"client-pause", "", func() map[string]string { return clientPauseParams{Stall: 1500 * time.Millisecond}.encode() },
			map[string]string{"stall": "1.5s"}, func(ev plan.Event) (any, error) { return decodeClientPauseParams(ev) },
			clientPauseParams{Stall: 1500 * time.Millisecond}},
		{"conn-drop", "", func() map[string]string { return connDropParams{Work: 5 * time.Second}.encode() },
			map[string]string{"work": "5s"}, func(ev plan.Event) (any, error) { return decodeConnDropParams(ev) },
			connDropParams{Work: 5 * time.Second}},
		{"link", linkLatency, func() map[string]string { return linkParams{Latency: 3 * time.Millisecond}.encode(linkLatency) },
			map[string]string{"latency": "3ms", "jitter": "0s"}, func(ev plan.Event) (any, error) { return decodeLinkParams(ev) },
			linkParams{Latency: 3 * time.Millisecond}},
		{"link", linkBandwidth, func() map[string]string { return linkParams{Rate: 64}.encode(linkBandwidth) },
			map[string]string{"rate": "64"}, func(ev plan.Event) (any, error) { return decodeLinkParams(ev) },
			linkParams{Rate: 64}},
		{"link", linkClose, func() map[string]string { return linkParams{}.encode(linkClose) },
			map[string]string{"bytes": "0"}, func(ev plan.Event) (any, error) { return decodeLinkParams(ev) },
			linkParams{}},
		{"link", linkStall, func() map[string]string { return linkParams{}.encode(linkStall) },
			map[string]string{}, func(ev plan.Event) (any, error) { return decodeLinkParams(ev) },
			linkParams{}},
		{"partition", partHalves, func() map[string]string {
			return partitionParams{Grudge: map[string][]string{"n1": {"n2", "n3"}, "n2": {"n1"}, "n3": {"n1"}}}.encode(nodes)
		}, map[string]string{"grudge": "n1:n2,n3;n2:n1;n3:n1"}, func(ev plan.Event) (any, error) { return decodePartitionParams(ev) },
			partitionParams{Grudge: map[string][]string{"n1": {"n2", "n3"}, "n2": {"n1"}, "n3": {"n1"}}}},
		{"partition", modeHolder, func() map[string]string { return partitionParams{}.encode(nodes) },
			map[string]string{}, func(ev plan.Event) (any, error) { return decodePartitionParams(ev) },
			partitionParams{Grudge: map[string][]string{}}},
	}
	for _, c := range cases {
		m := c.encode()
		if !reflect.DeepEqual(m, c.want) {
			t.Errorf("%s %s: encoded %v, want %v", c.name, c.mode, m, c.want)
		}
		got, err := c.decode(plan.Event{Nemesis: c.name, Mode: c.mode, Params: m})
		if err != nil || !reflect.DeepEqual(got, c.typed) {
			t.Errorf("%s %s: decoded %v to %+v, %v; want %+v", c.name, c.mode, m, got, err, c.typed)
		}
	}
}

// A parameter that does not decode is an error that names the nemesis,
// the parameter and the value.
func TestParamErrorsSayWhichValue(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"bad offset", second(decodeClockParams(plan.Event{Mode: clockBump, Params: map[string]string{"offset": "soon"}})),
			`nemesis clock: parameter offset="soon": not a duration`},
		{"zero period", second(decodeClockParams(plan.Event{Mode: clockStrobe, Params: map[string]string{"offset": "1s", "period": "0s"}})),
			`nemesis clock: parameter period="0s": not a positive duration`},
		{"missing period", second(decodeClockParams(plan.Event{Mode: clockStrobe, Params: map[string]string{"offset": "1s"}})),
			`nemesis clock: the event has no parameter period`},
		{"bad delay", second(decodeKillParams(plan.Event{Params: map[string]string{"restart-delay": "3"}})),
			`nemesis kill: parameter restart-delay="3": not a duration`},
		{"no stall", second(decodeClientPauseParams(plan.Event{})),
			`nemesis client-pause: the event has no parameter stall`},
		{"bad work", second(decodeConnDropParams(plan.Event{Params: map[string]string{"work": ""}})),
			`nemesis conn-drop: parameter work="": not a duration`},
		{"bad jitter", second(decodeLinkParams(plan.Event{Mode: linkLatency, Params: map[string]string{"latency": "5ms", "jitter": "x"}})),
			`nemesis link: parameter jitter="x": not a duration`},
		{"bad rate", second(decodeLinkParams(plan.Event{Mode: linkBandwidth, Params: map[string]string{"rate": "fast"}})),
			`nemesis link: parameter rate="fast": not an integer`},
		{"bad grudge", second(decodePartitionParams(plan.Event{Mode: partOne, Params: map[string]string{"grudge": "n1"}})),
			`nemesis partition: parameter grudge="n1": bad entry "n1"`},
	}
	for _, c := range cases {
		var pe *ParamError
		if !errors.As(c.err, &pe) || c.err.Error() != c.want {
			t.Errorf("%s: %v, want a *ParamError saying %s", c.name, c.err, c.want)
			continue
		}
		if !strings.Contains(c.err.Error(), pe.Param) {
			t.Errorf("%s: %v does not name the parameter", c.name, c.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
