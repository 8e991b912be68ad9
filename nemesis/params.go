package nemesis

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// Event parameters have two forms. On the wire, in the schedule and in the
// history's start ops, they are plan.Event.Params: a map of strings, plain
// JSON, a public format whose keys and values do not change. In the code,
// a nemesis with parameters declares a struct of typed fields (clockParams,
// killParams, linkParams, ...) with two functions beside it: encode, which
// Plan calls to write the map from the values it drew, and decode, which
// Inject calls once, at its top, before it acts, to read the map back. No
// other code reads the map.

// errMissing is the Err of a ParamError for a parameter that the event
// does not carry.
var errMissing = errors.New("missing")

// A ParamError says that a parameter of an event does not decode: a
// schedule edited by hand, or written by a lockstorm whose nemesis wrote
// other parameters.
type ParamError struct {
	// Nemesis names the nemesis whose event it is.
	Nemesis string
	// Param is the parameter's key in plan.Event.Params.
	Param string
	// Value is the parameter's value ("" when it is missing).
	Value string
	Err   error
}

func (e *ParamError) Error() string {
	if errors.Is(e.Err, errMissing) {
		return fmt.Sprintf("nemesis %s: the event has no parameter %s", e.Nemesis, e.Param)
	}
	return fmt.Sprintf("nemesis %s: parameter %s=%q: %v", e.Nemesis, e.Param, e.Value, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

// A paramDecoder reads the parameters of one event into typed values. It
// keeps the first error, so that a decode function reads every field and
// checks once.
type paramDecoder struct {
	nemesis string
	params  map[string]string
	err     error
}

// decodeParams starts decoding the parameters of ev, an event of the
// named nemesis.
func decodeParams(nemesis string, ev plan.Event) *paramDecoder {
	return &paramDecoder{nemesis: nemesis, params: ev.Params}
}

// fail keeps the first error.
func (d *paramDecoder) fail(key, value string, err error) {
	if d.err == nil {
		d.err = &ParamError{Nemesis: d.nemesis, Param: key, Value: value, Err: err}
	}
}

// lookup returns the parameter key, if the event has it.
func (d *paramDecoder) lookup(key string) (string, bool) {
	v, ok := d.params[key]
	return v, ok
}

// value returns the parameter key, which the event must have.
func (d *paramDecoder) value(key string) string {
	v, ok := d.lookup(key)
	if !ok {
		d.fail(key, "", errMissing)
	}
	return v
}

// duration reads the parameter key as a time.Duration ("1.5s").
func (d *paramDecoder) duration(key string) time.Duration {
	v := d.value(key)
	if d.err != nil {
		return 0
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		d.fail(key, v, errors.New("not a duration"))
	}
	return x
}

// positive reads the parameter key as a time.Duration above zero.
func (d *paramDecoder) positive(key string) time.Duration {
	x := d.duration(key)
	if d.err == nil && x <= 0 {
		d.fail(key, d.params[key], errors.New("not a positive duration"))
	}
	return x
}

// int reads the parameter key as a decimal integer.
func (d *paramDecoder) int(key string) int {
	v := d.value(key)
	if d.err != nil {
		return 0
	}
	x, err := strconv.Atoi(v)
	if err != nil {
		d.fail(key, v, errors.New("not an integer"))
	}
	return x
}
