// Command payment runs the payment service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
)

func main() {
	service.Main(func(*config.Env) service.Spec { return payment.Spec() })
}
