package eventschema_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/eventschema"
)

// Versions of one event's Go type, each a change to base.
type (
	base struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
	}
	removedField struct {
		OrderID string    `json:"order_id"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
	}
	renamedField struct {
		OrderID    string    `json:"order_id"`
		TotalCents int64     `json:"total_cents"`
		Items      []line    `json:"items"`
		At         time.Time `json:"at"`
		Note       string    `json:"note,omitempty"`
	}
	retypedField struct {
		OrderID string    `json:"order_id"`
		Total   float64   `json:"total"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
	}
	timeAsText struct {
		OrderID string `json:"order_id"`
		Total   int64  `json:"total"`
		Items   []line `json:"items"`
		At      string `json:"at"`
		Note    string `json:"note,omitempty"`
	}
	retypedItem struct {
		OrderID string `json:"order_id"`
		Total   int64  `json:"total"`
		Items   []struct {
			SKU      string `json:"sku"`
			Quantity string `json:"quantity"`
		} `json:"items"`
		At   time.Time `json:"at"`
		Note string    `json:"note,omitempty"`
	}
	removedInItem struct {
		OrderID string `json:"order_id"`
		Total   int64  `json:"total"`
		Items   []struct {
			Quantity int64 `json:"quantity"`
		} `json:"items"`
		At   time.Time `json:"at"`
		Note string    `json:"note,omitempty"`
	}
	addedOptional struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
		Coupon  string    `json:"coupon,omitempty"`
		Gift    *bool     `json:"gift,omitzero"`
	}
	addedRequired struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
		Coupon  string    `json:"coupon"`
	}
	madeRequired struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note"`
	}
	madeOptional struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total,omitempty"`
		Items   []line    `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
	}
	itemsNotNull struct {
		OrderID string    `json:"order_id"`
		Total   int64     `json:"total"`
		Items   [3]line   `json:"items"`
		At      time.Time `json:"at"`
		Note    string    `json:"note,omitempty"`
	}
)

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		new  reflect.Type
		want []string // the changes' messages
		ok   bool     // compatible
	}{
		{"same", reflect.TypeFor[base](), nil, true},
		{"added optional fields", reflect.TypeFor[addedOptional](), []string{
			"field coupon was added (optional)", "field gift was added (optional)"}, true},
		{"removed field", reflect.TypeFor[removedField](), []string{"field total was removed"}, false},
		{"renamed field", reflect.TypeFor[renamedField](), []string{"field total was renamed to total_cents"}, false},
		{"retyped field", reflect.TypeFor[retypedField](), []string{"field total changed type from integer to number"}, false},
		{"time as plain string", reflect.TypeFor[timeAsText](), []string{"field at changed type from string (date-time) to string"}, false},
		{"retyped in items[]", reflect.TypeFor[retypedItem](), []string{"field items[].quantity changed type from integer to string"}, false},
		{"removed in items[]", reflect.TypeFor[removedInItem](), []string{"field items[].sku was removed"}, false},
		{"added required field", reflect.TypeFor[addedRequired](), []string{
			"field coupon was added as required, but events already written lack it (make it omitempty to add it compatibly)"}, false},
		{"optional made required", reflect.TypeFor[madeRequired](), []string{"field note was optional and is now required"}, false},
		{"required made optional", reflect.TypeFor[madeOptional](), []string{"field total was required and is now optional"}, false},
		{"slice to array", reflect.TypeFor[itemsNotNull](), []string{"field items changed type from array or null to array"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			old, err := eventschema.Generate(reflect.TypeFor[base]())
			if err != nil {
				t.Fatal(err)
			}
			new, err := eventschema.Generate(c.new)
			if err != nil {
				t.Fatal(err)
			}
			changes := eventschema.Compare(old, new)
			var got []string
			for _, ch := range changes {
				got = append(got, ch.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("changes %q, want %q", got, c.want)
			}
			if ok := len(eventschema.Incompatible(changes)) == 0; ok != c.ok {
				t.Errorf("compatible = %v, want %v", ok, c.ok)
			}
		})
	}
}

func TestCompareDataRetyped(t *testing.T) {
	t.Parallel()
	old := &eventschema.Schema{Type: eventschema.Types{eventschema.TypeObject}}
	new := &eventschema.Schema{Type: eventschema.Types{eventschema.TypeArray}}
	got := eventschema.Compare(old, new)
	if len(got) != 1 || got[0].String() != "field data changed type from object to array" {
		t.Errorf("changes %v", got)
	}
}
