// Command shipping runs the shipping service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shipping"
)

func main() {
	service.Main(func(env *config.Env) service.Spec { return shipping.Spec(shipping.SettingsFromEnv(env)) })
}
