package campaign

import (
	"embed"
	"fmt"
)

//go:embed campaigns/*.yaml
var embedded embed.FS

// Default returns the campaign embedded in the binary that `lockstorm
// campaign` runs with no file: one cell per claim of the distributed-lock
// chapter.
func Default() (*File, error) { return embeddedFile("default") }

// Smoke returns the short campaign that CI runs after the tests.
func Smoke() (*File, error) { return embeddedFile("smoke") }

func embeddedFile(name string) (*File, error) {
	path := "campaigns/" + name + ".yaml"
	b, err := embedded.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embedded campaign %s: %w", name, err)
	}
	return Parse(b, "(embedded) "+path)
}

// EmbeddedSource returns the text of an embedded campaign, for
// `lockstorm campaign --print`.
func EmbeddedSource(name string) ([]byte, error) {
	return embedded.ReadFile("campaigns/" + name + ".yaml")
}
