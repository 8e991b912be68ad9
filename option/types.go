package option

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Duration is an option that takes a Go duration ("500ms", "2s").
type Duration struct {
	Name, Help string
	// Default is the value when the option is not given.
	Default time.Duration
	// Min is the smallest value allowed; Positive requires more than 0.
	Min      time.Duration
	Positive bool
	// Whole, if set, requires a multiple of it (time.Millisecond, say).
	Whole time.Duration
}

// Spec implements Declaration.
func (o Duration) Spec() Spec {
	return Spec{Name: o.Name, Default: FormatDuration(o.Default), Help: o.Help, check: func(s string) error {
		_, err := o.parse(s)
		return err
	}}
}

func (o Duration) parse(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a duration such as 500ms or 2s")
	case o.Positive && d <= 0:
		return 0, fmt.Errorf("must be positive")
	case d < o.Min:
		return 0, fmt.Errorf("must be at least %s", o.Min)
	case o.Whole > 0 && d%o.Whole != 0:
		return 0, fmt.Errorf("must be a whole number of %s", FormatDuration(o.Whole))
	}
	return d, nil
}

// Lookup returns the value and whether the option was given.
func (o Duration) Lookup(v Values) (time.Duration, bool) {
	s, ok := v.lookup(o.Name)
	if !ok {
		return o.Default, false
	}
	d, err := o.parse(s)
	if err != nil {
		return o.Default, false
	}
	return d, true
}

// Get returns the value, or the default.
func (o Duration) Get(v Values) time.Duration {
	d, _ := o.Lookup(v)
	return d
}

// Int is an option that takes a whole number in [Min, Max].
type Int struct {
	Name, Help string
	Default    int
	Min, Max   int
}

// Spec implements Declaration.
func (o Int) Spec() Spec {
	return Spec{Name: o.Name, Default: strconv.Itoa(o.Default), Help: o.Help, check: func(s string) error {
		_, err := o.parse(s)
		return err
	}}
}

func (o Int) parse(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < o.Min || n > o.max() {
		return 0, fmt.Errorf("want a whole number from %d to %d", o.Min, o.max())
	}
	return n, nil
}

func (o Int) max() int {
	if o.Max == 0 {
		return math.MaxInt32
	}
	return o.Max
}

// Lookup returns the value and whether the option was given.
func (o Int) Lookup(v Values) (int, bool) {
	s, ok := v.lookup(o.Name)
	if !ok {
		return o.Default, false
	}
	n, err := o.parse(s)
	if err != nil {
		return o.Default, false
	}
	return n, true
}

// Get returns the value, or the default.
func (o Int) Get(v Values) int {
	n, _ := o.Lookup(v)
	return n
}

// Ints is an option that takes a comma-separated list of whole numbers,
// each in [Min, Max], strictly increasing.
type Ints struct {
	Name, Help string
	Default    []int
	Min, Max   int
}

// Spec implements Declaration.
func (o Ints) Spec() Spec {
	def := make([]string, len(o.Default))
	for i, n := range o.Default {
		def[i] = strconv.Itoa(n)
	}
	return Spec{Name: o.Name, Default: strings.Join(def, ","), Help: o.Help, check: func(s string) error {
		_, err := o.parse(s)
		return err
	}}
}

func (o Ints) parse(s string) ([]int, error) {
	one := Int{Min: o.Min, Max: o.Max}
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := one.parse(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", strings.TrimSpace(part), err)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("want the numbers in increasing order, each once")
		}
		out = append(out, n)
	}
	return out, nil
}

// Get returns the list, or the default.
func (o Ints) Get(v Values) []int {
	s, ok := v.lookup(o.Name)
	if !ok {
		return slices.Clone(o.Default)
	}
	ns, err := o.parse(s)
	if err != nil {
		return slices.Clone(o.Default)
	}
	return ns
}

// Float is an option that takes a number in [Min, Max].
type Float struct {
	Name, Help string
	Default    float64
	Min, Max   float64
}

// Spec implements Declaration.
func (o Float) Spec() Spec {
	return Spec{Name: o.Name, Default: strconv.FormatFloat(o.Default, 'g', -1, 64), Help: o.Help, check: func(s string) error {
		_, err := o.parse(s)
		return err
	}}
}

func (o Float) parse(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < o.Min || f > o.Max {
		return 0, fmt.Errorf("want a number from %g to %g", o.Min, o.Max)
	}
	return f, nil
}

// Get returns the value, or the default.
func (o Float) Get(v Values) float64 {
	s, ok := v.lookup(o.Name)
	if !ok {
		return o.Default
	}
	f, err := o.parse(s)
	if err != nil {
		return o.Default
	}
	return f
}

// Choice is an option that takes one of Choices or, with List, a
// comma-separated list of them (a nemesis draws its mode from the list).
type Choice struct {
	Name, Help string
	// Default is the value when the option is not given; "" means that
	// the owner decides (Help says how).
	Default string
	Choices []string
	List    bool
}

// Spec implements Declaration.
func (o Choice) Spec() Spec {
	return Spec{Name: o.Name, Default: o.Default, Help: o.Help, Choices: slices.Clone(o.Choices), List: o.List,
		check: func(s string) error {
			_, err := o.parse(s)
			return err
		}}
}

func (o Choice) parse(s string) ([]string, error) {
	parts := []string{strings.TrimSpace(s)}
	if o.List {
		parts = strings.Split(s, ",")
	}
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !slices.Contains(o.Choices, p) {
			return nil, fmt.Errorf("unknown value %q (valid: %s)", p, strings.Join(o.Choices, ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

// Lookup returns the chosen values (one unless List) and whether the
// option was given; without it, the default (if any).
func (o Choice) Lookup(v Values) ([]string, bool) {
	s, ok := v.lookup(o.Name)
	if ok {
		if vals, err := o.parse(s); err == nil {
			return vals, true
		}
	}
	if o.Default == "" {
		return nil, false
	}
	return []string{o.Default}, false
}

// Get returns the chosen value, or the default.
func (o Choice) Get(v Values) string {
	vals, _ := o.Lookup(v)
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// FormatDuration writes d as Go does, without the trailing zero units that
// time.Duration.String adds ("1m" rather than "1m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Text is an option that takes free text, such as a version or a path;
// Valid, if set, says what is wrong with a value.
type Text struct {
	Name, Help string
	// Default is the value when the option is not given.
	Default string
	Valid   func(string) error
}

// Spec implements Declaration.
func (o Text) Spec() Spec {
	return Spec{Name: o.Name, Default: o.Default, Help: o.Help, check: o.Valid}
}

// Lookup returns the value and whether the option was given; a value that
// Valid refuses counts as not given.
func (o Text) Lookup(v Values) (string, bool) {
	s, ok := v.lookup(o.Name)
	if !ok || (o.Valid != nil && o.Valid(s) != nil) {
		return o.Default, false
	}
	return s, true
}

// Get returns the value, or the default.
func (o Text) Get(v Values) string {
	s, _ := o.Lookup(v)
	return s
}
