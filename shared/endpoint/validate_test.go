package endpoint_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

func TestProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		check func(p *endpoint.Problems)
		want  string // "" for no problem
	}{
		{"id ok", func(p *endpoint.Problems) { p.ID("order_id", "Ab_9-"+strings.Repeat("x", 59)) }, ""},
		{"id missing", func(p *endpoint.Problems) { p.ID("order_id", "") }, "order_id is required"},
		{"id too long", func(p *endpoint.Problems) { p.ID("order_id", strings.Repeat("x", 65)) }, "order_id must match ^[A-Za-z0-9_-]{1,64}$"},
		{"id subject token", func(p *endpoint.Problems) { p.ID("sku", "a.b") }, "sku must match ^[A-Za-z0-9_-]{1,64}$"},
		{"optional id empty", func(p *endpoint.Problems) { p.OptionalID("order_id", "") }, ""},
		{"optional id bad", func(p *endpoint.Problems) { p.OptionalID("order_id", "*") }, "order_id must match ^[A-Za-z0-9_-]{1,64}$"},
		{"text ok", func(p *endpoint.Problems) { p.Text("reason", strings.Repeat("é", 100), true) }, ""},
		{"text optional", func(p *endpoint.Problems) { p.Text("reason", "", false) }, ""},
		{"text required", func(p *endpoint.Problems) { p.Text("shipping_address.name", " ", true) }, "shipping_address.name is required"},
		{"text too long", func(p *endpoint.Problems) { p.Text("reason", strings.Repeat("x", 201), false) }, "reason must be at most 200 bytes"},
		{"text invalid UTF-8", func(p *endpoint.Problems) { p.Text("reason", "\xff", false) }, "reason must be valid UTF-8"},
		{"range ok", func(p *endpoint.Problems) { p.IntRange("q", 10000, 1, 10000) }, ""},
		{"range low", func(p *endpoint.Problems) { p.IntRange(endpoint.Field("items", 2, "quantity"), 0, 1, 10000) }, "items[2].quantity must be between 1 and 10000"},
		{"required", func(p *endpoint.Problems) { p.Required("amount_cents", false) }, "amount_cents is required"},
		{"country ok", func(p *endpoint.Problems) { p.Country("country", "GB") }, ""},
		{"country missing", func(p *endpoint.Problems) { p.Country("country", "") }, "country is required"},
		{"country unknown", func(p *endpoint.Problems) { p.Country("country", "UK") }, `country must be an ISO 3166-1 alpha-2 country code such as "US"`},
		{"add", func(p *endpoint.Problems) { p.Add("items", "must have between %d and %d entries", 1, 100) }, "items must have between 1 and 100 entries"},
		{"add without field", func(p *endpoint.Problems) { p.Add("", "the order total overflows") }, "the order total overflows"},
		{"several", func(p *endpoint.Problems) { p.ID("a", ""); p.ID("b", "") }, "a is required; b is required"},
		{"many", func(p *endpoint.Problems) {
			for i := range 12 {
				p.Required(endpoint.Field("items", i, "sku"), false)
			}
		}, "items[0].sku is required; items[1].sku is required; items[2].sku is required; items[3].sku is required; items[4].sku is required; items[5].sku is required; items[6].sku is required; items[7].sku is required; items[8].sku is required; items[9].sku is required; and 2 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p endpoint.Problems
			tc.check(&p)
			err := p.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected problem: %v", err)
				}
				return
			}
			var e *endpoint.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != endpoint.CodeInvalidArgument || e.Message != tc.want {
				t.Fatalf("got %#v, want 400 %q", err, tc.want)
			}
		})
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		parent string
		index  int
		name   string
		want   string
	}{
		{"items", 2, "quantity", "items[2].quantity"},
		{"shipping_address", -1, "name", "shipping_address.name"},
		{"items", 0, "", "items[0]"},
		{"", -1, "order_id", "order_id"},
	} {
		if got := endpoint.Field(tc.parent, tc.index, tc.name); got != tc.want {
			t.Errorf("Field(%q, %d, %q) = %q, want %q", tc.parent, tc.index, tc.name, got, tc.want)
		}
	}
}

func TestCountries(t *testing.T) {
	t.Parallel()
	if endpoint.CountryCount != 249 {
		t.Fatalf("%d country codes, want the 249 officially assigned", endpoint.CountryCount)
	}
	for _, c := range strings.Fields("US CA GB DE FR NL JP AU AX BQ CW SS SX XK UK EU us") {
		want := !strings.Contains("XK UK EU us", c)
		if got := endpoint.IsCountry(c); got != want {
			t.Errorf("IsCountry(%q) = %v, want %v", c, got, want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("get o1: %w", endpoint.NotFound("order %s not found", "o1"))
	if !errors.Is(err, endpoint.ErrNotFound) || errors.Is(err, endpoint.ErrConflict) {
		t.Fatalf("errors.Is does not follow the code")
	}
	if !errors.Is(endpoint.Conflict("x"), endpoint.ErrConflict) || !errors.Is(endpoint.Invalid("x"), endpoint.ErrInvalidArgument) {
		t.Fatalf("errors.Is does not follow the code")
	}
	if err.Error() != "get o1: order o1 not found" {
		t.Fatalf("Error() = %q", err.Error())
	}
}

func ExampleProblems() {
	quantity := int64(0)
	var p endpoint.Problems
	p.ID("customer_id", "")
	p.IntRange(endpoint.Field("items", 2, "quantity"), quantity, 1, 10_000)
	p.Country("shipping_address.country", "FR")
	fmt.Println(p.Err())
	// Output: customer_id is required; items[2].quantity must be between 1 and 10000
}
