// Package registry finds the registered targets, workloads and nemeses by
// name, the same way for all three.
package registry

import (
	"fmt"
	"sort"
	"strings"
)

// A Named is an entry of a registry.
type Named interface{ Name() string }

// Lookup returns the entry of all called name, or an error wrapping
// notFound that lists the valid names.
func Lookup[T Named](all []T, kind, name string, notFound error) (T, error) {
	for _, e := range all {
		if e.Name() == name {
			return e, nil
		}
	}
	var zero T
	if name == "" {
		return zero, fmt.Errorf("%w: no %s given (valid: %s)", notFound, kind, strings.Join(Names(all), ", "))
	}
	return zero, fmt.Errorf("%w %q (valid: %s)", notFound, name, strings.Join(Names(all), ", "))
}

// Names returns the names of all, sorted.
func Names[T Named](all []T) []string {
	out := make([]string, len(all))
	for i, e := range all {
		out[i] = e.Name()
	}
	sort.Strings(out)
	return out
}
