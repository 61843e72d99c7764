package eventschema_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// The test's event type, ParcelSent, published by the service "depot", in
// its two schema versions. v2 renamed weight to weight_grams and added a
// required carrier; upcastParcelSent turns v1 data into v2.
const depot = "depot"

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type parcelSentV1 struct {
	ParcelID string    `json:"parcel_id"`
	Weight   int64     `json:"weight"`
	Lines    []line    `json:"lines"`
	SentAt   time.Time `json:"sent_at"`
	Note     string    `json:"note,omitempty"`
}

type parcelSent struct {
	ParcelID    string    `json:"parcel_id"`
	WeightGrams int64     `json:"weight_grams"`
	Carrier     string    `json:"carrier"`
	Lines       []line    `json:"lines"`
	SentAt      time.Time `json:"sent_at"`
	Note        string    `json:"note,omitempty"`
}

func (parcelSentV1) EventType() string { return "ParcelSent" }
func (parcelSent) EventType() string   { return "ParcelSent" }

var sentAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	exampleV1 = parcelSentV1{ParcelID: "p1", Weight: 1200, Lines: []line{{SKU: "A", Quantity: 2}}, SentAt: sentAt}
	exampleV2 = parcelSent{ParcelID: "p1", WeightGrams: 1200, Carrier: "UPS", Lines: []line{{SKU: "A", Quantity: 2}}, SentAt: sentAt}
)

// upcastParcelSent renames weight to weight_grams and sets the carrier that v1
// did not record.
func upcastParcelSent(data json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	w, ok := m["weight"]
	if !ok {
		return nil, fmt.Errorf("weight is missing")
	}
	delete(m, "weight")
	m["weight_grams"] = w
	m["carrier"] = json.RawMessage(`"unknown"`)
	return json.Marshal(m)
}

// registryV1 registers ParcelSent as it was: v1, with its v1 Go type.
func registryV1() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.RegisterPublic[parcelSentV1](r, depot)
	return r
}

// registryV2 registers ParcelSent after the bump: v2, with the upcaster.
func registryV2() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.RegisterPublic[parcelSent](r, depot, upcastParcelSent)
	return r
}

func (line) EventType() string { return "Line" }
