package endpoint

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits shared by every request type (contract, section 2).
const (
	// IDPattern is what identifiers (order_id, customer_id, sku) must match:
	// they become NATS subject tokens.
	IDPattern = "^[A-Za-z0-9_-]{1,64}$"
	// MaxIDLen is the longest identifier.
	MaxIDLen = 64
	// MaxTextLen is the longest free-text string, in bytes.
	MaxTextLen = 200
)

// maxProblems bounds how many problems one reply lists.
const maxProblems = 10

// Problems collects what is wrong with a request, in the order found, each
// message naming its field. Request types use it in their Validate method:
//
//	func (r *PlaceOrder) Validate() error {
//		var p endpoint.Problems
//		p.OptionalID("order_id", r.OrderID)
//		p.ID("customer_id", r.CustomerID)
//		for i, it := range r.Items {
//			p.Required(endpoint.Field("items", i, "quantity"), it.Quantity != nil)
//			…
//		}
//		return p.Err()
//	}
//
// The zero value is ready to use.
type Problems struct {
	list []string
}

// Add records a problem with field: Add("items", "must have between %d and %d entries", 1, 100)
// reads "items must have between 1 and 100 entries". An empty field records
// the message alone.
func (p *Problems) Add(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + " " + msg
	}
	p.list = append(p.list, msg)
}

// Required records "<field> is required" unless present. Use it with pointer
// fields to tell a missing number from zero: p.Required("quantity", r.Quantity != nil).
func (p *Problems) Required(field string, present bool) {
	if !present {
		p.Add(field, "is required")
	}
}

// ID checks a required identifier against IDPattern.
func (p *Problems) ID(field, value string) {
	if value == "" {
		p.Add(field, "is required")
		return
	}
	p.OptionalID(field, value)
}

// OptionalID checks an identifier against IDPattern if it is not empty.
func (p *Problems) OptionalID(field, value string) {
	if value != "" && !ValidID(value) {
		p.Add(field, "must match %s", IDPattern)
	}
}

// Text checks a string: at most MaxTextLen bytes of valid UTF-8, and not
// empty or blank if required.
func (p *Problems) Text(field, value string, required bool) {
	switch {
	case required && strings.TrimSpace(value) == "":
		p.Add(field, "is required")
	case len(value) > MaxTextLen:
		p.Add(field, "must be at most %d bytes", MaxTextLen)
	case !utf8.ValidString(value):
		p.Add(field, "must be valid UTF-8")
	}
}

// IntRange checks min <= v <= max.
func (p *Problems) IntRange(field string, v, min, max int64) {
	if v < min || v > max {
		p.Add(field, "must be between %d and %d", min, max)
	}
}

// Country checks a required ISO 3166-1 alpha-2 country code ("US", not "us").
func (p *Problems) Country(field, value string) {
	switch {
	case value == "":
		p.Add(field, "is required")
	case !IsCountry(value):
		p.Add(field, "must be an ISO 3166-1 alpha-2 country code such as \"US\"")
	}
}

// Err returns nil if no problem was recorded, otherwise a 400
// invalid_argument *Error whose message lists the problems, joined by "; "
// (at most 10, then how many more).
func (p *Problems) Err() error {
	switch n := len(p.list); {
	case n == 0:
		return nil
	case n <= maxProblems:
		return Invalid("%s", strings.Join(p.list, "; "))
	default:
		return Invalid("%s; and %d more", strings.Join(p.list[:maxProblems], "; "), n-maxProblems)
	}
}

// Field builds a field path for messages: Field("items", 2, "quantity") is
// "items[2].quantity". A negative index leaves the index out
// (Field("shipping_address", -1, "name") is "shipping_address.name"), and an
// empty name ends the path at the index (Field("items", 2, "") is "items[2]").
func Field(parent string, index int, name string) string {
	path := parent
	if index >= 0 {
		path += "[" + strconv.Itoa(index) + "]"
	}
	if name != "" {
		if path != "" {
			path += "."
		}
		path += name
	}
	return path
}

// ValidID reports whether s matches IDPattern.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
