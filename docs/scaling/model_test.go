package scaling_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The model and the table of docs/scaling.md run on the committed results,
// as the page shows them.
func TestModelRuns(t *testing.T) {
	files, err := filepath.Glob("results/r*-results*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("committed results: %v %v", files, err)
	}
	for _, args := range [][]string{
		{"-results", "results/r2-results-p2.json", "-cores", "8", "-nodes", "3", "-r3-cost", "1"},
		{"-results", "results/r2-results-p2.json", "-split-streams"},
		append([]string{"-table"}, files...),
	} {
		out, err := exec.Command("go", append([]string{"run", "model.go"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("model %v: %v\n%s", args, err, out)
		}
		want := "projected sagas/s"
		if args[0] == "-table" {
			want = "| 3 | 2 |"
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("model %v printed no %q:\n%s", args, want, out)
		}
	}
}
