// Command order runs the order service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/order"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
)

func main() {
	service.Main(func(env *config.Env) service.Spec { return order.Spec(order.SettingsFromEnv(env)) })
}
