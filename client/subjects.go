package client

// The contract's request subjects (docs/contract.md, section 2), one per
// method of Client.
const (
	SubjectPlace    = "order.place"
	SubjectCancel   = "order.cancel"
	SubjectGet      = "order.get"
	SubjectList     = "order.list"
	SubjectHistory  = "order.history"
	SubjectDeposit  = "payment.deposit"
	SubjectBalance  = "payment.balance"
	SubjectPayment  = "payment.get"
	SubjectRestock  = "inventory.restock"
	SubjectStock    = "inventory.get"
	SubjectShipment = "shipping.get"
	SubjectTimeline = "order.timeline"
)

// Requests are the contract's request subjects: what a client of the
// contract may send, and so what the secure profile's client identity is
// allowed to publish (with each service's <service>.schemas, which every
// service serves).
func Requests() []string {
	return []string{
		SubjectPlace, SubjectCancel, SubjectGet, SubjectList, SubjectHistory, SubjectTimeline,
		SubjectDeposit, SubjectBalance, SubjectPayment,
		SubjectRestock, SubjectStock,
		SubjectShipment,
	}
}

// Queries are the contract's requests that change nothing: what the secure
// profile's console identity may send.
func Queries() []string {
	return []string{
		SubjectGet, SubjectList, SubjectHistory, SubjectTimeline,
		SubjectBalance, SubjectPayment,
		SubjectStock,
		SubjectShipment,
	}
}
