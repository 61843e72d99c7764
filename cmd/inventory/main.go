// Command inventory runs the inventory service. See the README for its environment.
package main

import (
	"github.com/choreo-dev/choreo/inventory"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
)

func main() {
	service.Main(func(*config.Env) service.Spec { return inventory.Spec() })
}
