package workloads

import (
	"errors"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestFencedResourceRejectsOnlyLowerTokens(t *testing.T) {
	r := NewResource(true)
	steps := []struct {
		token   *int64
		wantErr bool
	}{
		{history.Tok(5), false},
		{history.Tok(5), false}, // the same holder writes twice
		{history.Tok(7), false},
		{history.Tok(6), true}, // a stale holder
		{nil, false},           // no token: cannot be fenced
		{history.Tok(7), false},
	}
	for i, s := range steps {
		err := r.Write("k", s.token, int64(i))
		if (err != nil) != s.wantErr {
			t.Fatalf("step %d: Write(token %v) = %v, want error %v", i, s.token, err, s.wantErr)
		}
		if err != nil && !errors.Is(err, ErrStaleToken) {
			t.Errorf("step %d: error %v does not wrap ErrStaleToken", i, err)
		}
	}
	if got := r.Read("k"); got != 5 {
		t.Errorf("value = %d, want 5 (the rejected write must not land)", got)
	}
	if err := r.Write("other", history.Tok(1), 1); err != nil {
		t.Errorf("keys are fenced independently: %v", err)
	}
}

func TestUnfencedResourceAcceptsStaleTokens(t *testing.T) {
	r := NewResource(false)
	if err := r.Write("k", history.Tok(9), 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Write("k", history.Tok(3), 2); err != nil {
		t.Fatalf("unfenced resource rejected a write: %v", err)
	}
	if r.Read("k") != 2 {
		t.Error("stale write did not land on the unfenced resource")
	}
}
