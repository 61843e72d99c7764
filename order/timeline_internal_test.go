package order

import "testing"

func TestWaitingOn(t *testing.T) {
	t.Parallel()
	set := func(types ...string) map[string]bool {
		m := map[string]bool{}
		for _, typ := range types {
			m[typ] = true
		}
		return m
	}
	for _, tc := range []struct {
		status string
		heard  map[string]bool
		want   string
	}{
		{"pending", set("OrderPlaced"), "payment"},
		{"paid", set("OrderPlaced", typPaymentCompleted), "inventory"},
		{"reserved", set("OrderPlaced", typStockReserved), "shipping"},
		{"reserved", set(typPaymentCompleted, typStockReserved), "shipping"},
		{"pending", set(typPaymentFailed), "order"},
		{"completed", set(typShipmentScheduled), ""},
		{"cancelled", set("OrderCancelled"), ""},
		{"cancelled", set(typPaymentFailed), ""},
		{"cancelled", set(typPaymentCompleted), "payment"},
		{"cancelled", set(typPaymentCompleted, typPaymentRefunded, typStockReserved), "inventory"},
		{"cancelled", set(typPaymentCompleted, typPaymentRefunded, typStockReserved, typStockReleased, typShipmentScheduled), "shipping"},
		{"cancelled", set(typPaymentCompleted, typPaymentRefunded, typStockReserved, typStockReleased, typShipmentFailed), ""},
	} {
		if got := waitingOn(tc.status, tc.heard); got != tc.want {
			t.Errorf("waitingOn(%s, %v) = %q, want %q", tc.status, tc.heard, got, tc.want)
		}
	}
}
