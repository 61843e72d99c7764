// Command order runs the order service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/order"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
)

func main() {
	service.Main("order", func(c config.Config) service.Spec {
		return order.Spec(order.Settings{SagaTimeout: c.SagaTimeout})
	})
}
