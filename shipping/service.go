// Package shipping is the shipping service: it schedules the shipment of each
// reserved order to the countries it serves, and cancels it on cancellation.
package shipping

import (
	"fmt"
	"strings"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shipping/domain"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

var shipmentAgg = eventstore.Aggregate[domain.Shipment]{
	Type: domain.ShipmentAggregate, New: domain.NewShipment, Evolve: domain.EvolveShipment,
}

// Registry knows the shipping service's own events and the events it consumes.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	shippingevents.Register(r)
	domain.Register(r)
	inventoryevents.Register(r)
	orderevents.Register(r)
	return r
}

// ShipmentView is shipping.get's reply, the contract's type, defined once
// in package client.
type ShipmentView = client.ShipmentView

const bucketShipments = "shipments"

// Settings are the shipping service's own settings.
type Settings struct {
	// Countries are the upper-case ISO 3166-1 alpha-2 codes shipping
	// delivers to (CHOREO_SHIPPING_COUNTRIES).
	Countries []string
}

// DefaultCountries is where shipping delivers unless configured otherwise.
var DefaultCountries = []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"}

// SettingsFromEnv reads CHOREO_SHIPPING_COUNTRIES (comma-separated ISO codes,
// any case), reporting bad codes through env.
func SettingsFromEnv(env *config.Env) Settings {
	return Settings{Countries: env.List("CHOREO_SHIPPING_COUNTRIES", DefaultCountries, func(c string) (string, error) {
		c = strings.ToUpper(c)
		if !endpoint.IsCountry(c) {
			return "", fmt.Errorf("%q is not an ISO 3166-1 alpha-2 country code", c)
		}
		return c, nil
	})}
}

// DefaultHTTPAddr is where the shipping service serves /metrics, /healthz and
// /readyz unless CHOREO_HTTP_ADDR says otherwise.
const DefaultHTTPAddr = "127.0.0.1:9104"

// Spec describes the shipping service to the service host.
func Spec(s Settings) service.Spec {
	return service.Spec{
		HTTPAddr: DefaultHTTPAddr,
		Saga:     Saga(s),
		Registry: Registry(),
		Schemas:  shippingevents.Schemas,
		Projections: []eventstore.Projection{
			eventstore.StateView(shipmentAgg, bucketShipments, func(s domain.Shipment, _ uint64, _ envelope.Envelope) (any, bool) {
				return ShipmentView{OrderID: s.OrderID, ShipmentID: s.ShipmentID, Status: s.Status,
					Carrier: s.Carrier, TrackingNumber: s.TrackingNumber}, s.Decided()
			}),
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			return []endpoint.Endpoint{
				endpoint.New("shipping.get", service.ViewQuery[service.ByOrderID, ShipmentView](st, bucketShipments, "shipment"),
					endpoint.RouteBy("order_id")),
			}
		},
	}
}
