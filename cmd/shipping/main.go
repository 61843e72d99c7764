// Command shipping runs the shipping service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shipping"
)

func main() {
	service.Main("shipping", func(c config.Config) service.Spec { return shipping.Spec(c.ShippingCountries) })
}
