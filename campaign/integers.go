package campaign

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkIntegers refuses, with the file and the line, a value that is not
// a whole number under a key of the campaign file that holds one (nodes,
// concurrency, keys, repeats, parallel, each of seeds): the YAML decoder
// turns 1.5 into 1 without a word. The keys are found from the types of
// File, CellSpec and MatrixSpec, so a new integer setting is checked with
// no other change.
func checkIntegers(doc *yaml.Node, name string) error {
	return walkIntegers(doc, reflect.TypeOf(File{}), "", name)
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// walkIntegers checks the node n, decoded into a value of type t under the
// key key.
func walkIntegers(n *yaml.Node, t reflect.Type, key, name string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // a Duration or a hold: it parses its own text
	}
	switch t.Kind() {
	case reflect.Pointer:
		return walkIntegers(n, t.Elem(), key, name)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			return fmt.Errorf("%w: %s:%d: %s: %s is not a whole number", ErrBadFile, name, n.Line, key, n.Value)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for _, item := range n.Content {
			if err := walkIntegers(item, t.Elem(), key, name); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if ft, ok := fields[k]; ok {
				if err := walkIntegers(n.Content[i+1], ft, k, name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// yamlFields maps the YAML keys of the struct type t, inline structs
// included, to the types of their fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}
