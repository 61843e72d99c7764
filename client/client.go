package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
)

// DefaultTimeout bounds a request whose context has no deadline: a command
// is answered after an fsync, so seconds mean something is wrong.
const DefaultTimeout = 5 * time.Second

// Client sends the contract's requests on one NATS connection. It is safe
// for concurrent use; it holds no state besides its settings.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// Option tunes a Client.
type Option func(*Client)

// WithTimeout sets how long a request waits for its reply when its context
// has no deadline (DefaultTimeout if d is not positive).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// New returns a client on nc. The caller keeps nc and closes it.
func New(nc *nats.Conn, opts ...Option) *Client {
	c := &Client{nc: nc, timeout: DefaultTimeout}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Call sends req to subject and waits for the reply; the typed methods use
// it, and it serves any endpoint they do not cover. req is marshalled as
// JSON, except a json.RawMessage or []byte, which is sent as is. A success
// reply is unmarshalled into resp unless resp is nil; an error reply is
// returned as an *Error; no reply is ErrNoResponders or ErrTimeout. A ctx
// carrying an OpenTelemetry span sends its W3C trace context (traceparent,
// tracestate): the service continues that trace.
func (c *Client) Call(ctx context.Context, subject string, req, resp any) error {
	var body []byte
	switch r := req.(type) {
	case json.RawMessage:
		body = r
	case []byte:
		body = r
	default:
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("%s: marshal request: %w", subject, err)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	out := &nats.Msg{Subject: subject, Data: body}
	if tc := tracing.FromContext(ctx); !tc.IsZero() {
		out.Header = nats.Header{}
		tc.SetHeader(out.Header)
	}
	msg, err := c.nc.RequestMsgWithContext(ctx, out)
	if err != nil {
		return newRequestError(subject, err)
	}
	if err := ReplyError(msg); err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(msg.Data, resp); err != nil {
		return fmt.Errorf("%s: unexpected reply: %w", subject, err)
	}
	return nil
}

// call is Call for a typed reply.
func call[V any](ctx context.Context, c *Client, subject string, req any) (V, error) {
	var v V
	err := c.Call(ctx, subject, req, &v)
	return v, err
}

// Place places an order (order.place) and returns it, pending.
func (c *Client) Place(ctx context.Context, r PlaceRequest) (OrderView, error) {
	return call[OrderView](ctx, c, SubjectPlace, r)
}

// Cancel cancels an order at the customer's request (order.cancel); reason
// is optional free text, kept with the cancellation.
func (c *Client) Cancel(ctx context.Context, orderID, reason string) (OrderView, error) {
	return call[OrderView](ctx, c, SubjectCancel, cancelRequest{OrderID: orderID, Reason: reason})
}

// Get reads an order (order.get).
func (c *Client) Get(ctx context.Context, orderID string) (OrderView, error) {
	return call[OrderView](ctx, c, SubjectGet, byOrderID{orderID})
}

// List reads orders, newest first (order.list).
func (c *Client) List(ctx context.Context, r ListRequest) ([]OrderView, error) {
	l, err := call[OrderList](ctx, c, SubjectList, r)
	return l.Orders, err
}

// History reads an order's stored events, oldest first (order.history).
func (c *Client) History(ctx context.Context, orderID string) ([]envelope.Envelope, error) {
	h, err := call[History](ctx, c, SubjectHistory, byOrderID{orderID})
	return h.Events, err
}

// Timeline reads an order's saga as the order service heard it, oldest
// event first, with the service it waits for (order.timeline).
func (c *Client) Timeline(ctx context.Context, orderID string) (Timeline, error) {
	return call[Timeline](ctx, c, SubjectTimeline, byOrderID{orderID})
}

// Deposit adds money to a customer's wallet (payment.deposit) and returns
// the new balance.
func (c *Client) Deposit(ctx context.Context, customerID string, amountCents int64) (BalanceView, error) {
	return call[BalanceView](ctx, c, SubjectDeposit, depositRequest{CustomerID: customerID, AmountCents: amountCents})
}

// Balance reads a customer's wallet (payment.balance).
func (c *Client) Balance(ctx context.Context, customerID string) (BalanceView, error) {
	return call[BalanceView](ctx, c, SubjectBalance, byCustomerID{customerID})
}

// Payment reads an order's payment (payment.get).
func (c *Client) Payment(ctx context.Context, orderID string) (PaymentView, error) {
	return call[PaymentView](ctx, c, SubjectPayment, byOrderID{orderID})
}

// Restock adds stock of a SKU (inventory.restock) and returns its stock.
func (c *Client) Restock(ctx context.Context, sku string, quantity int64) (StockView, error) {
	return call[StockView](ctx, c, SubjectRestock, restockRequest{SKU: sku, Quantity: quantity})
}

// Stock reads a SKU's stock (inventory.get).
func (c *Client) Stock(ctx context.Context, sku string) (StockView, error) {
	return call[StockView](ctx, c, SubjectStock, bySKU{sku})
}

// Shipment reads an order's shipment (shipping.get).
func (c *Client) Shipment(ctx context.Context, orderID string) (ShipmentView, error) {
	return call[ShipmentView](ctx, c, SubjectShipment, byOrderID{orderID})
}
