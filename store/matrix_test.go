package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCampaignResultKeepsWhichMatrixACellCameFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), ResultsFile)
	of := &MatrixOf{Cell: "etcd-pause", Values: []MatrixValue{{Option: "etcd.version", Value: "3.6.16"}, {Option: "pause.mode", Value: "holder"}}}
	in := CampaignResult{Name: "m", Cells: []CellResult{
		{Name: "etcd-pause@etcd.version=3.6.16@pause.mode=holder", MatrixOf: of},
		{Name: "plain"},
	}}
	if err := WriteJSON(path, in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"matrix_of"`); n != 1 {
		t.Errorf("results.json has %d matrix_of fields, want one (none for a cell without a matrix):\n%s", n, b)
	}
	out, err := ReadCampaignResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Cells[0].MatrixOf, of) || out.Cells[1].MatrixOf != nil {
		t.Errorf("read back %+v and %+v, want %+v and nil", out.Cells[0].MatrixOf, out.Cells[1].MatrixOf, of)
	}
	if got := of.Label(); got != "etcd.version=3.6.16, pause.mode=holder" {
		t.Errorf("Label = %q", got)
	}
	// A results.json written before matrices reads unchanged.
	old := filepath.Join(t.TempDir(), ResultsFile)
	if err := os.WriteFile(old, []byte(`{"name":"old","cells":[{"name":"a","runs":[]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := ReadCampaignResult(old); err != nil || r.Cells[0].MatrixOf != nil {
		t.Errorf("an old results.json: %+v, %v", r, err)
	}
}
