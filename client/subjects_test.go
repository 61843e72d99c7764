package client_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/client"
)

// Requests are exactly the subjects of the contract's table of commands and
// queries (section 2), <service>.schemas aside: the secure profile's client
// identity may send these and nothing else.
func TestRequestsAreTheContracts(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "docs", "contract.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start, end := strings.Index(doc, "## 2. "), strings.Index(doc, "### Errors")
	if start < 0 || end < start {
		t.Fatal("docs/contract.md: no section 2 followed by ### Errors")
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)`")
	var want []string
	for _, m := range row.FindAllStringSubmatch(doc[start:end], -1) {
		if !strings.Contains(m[1], "<") {
			want = append(want, m[1])
		}
	}
	got := client.Requests()
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("client.Requests() = %v\nthe contract's section 2 lists %v", got, want)
	}
}
