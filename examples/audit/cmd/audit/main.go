// Command audit runs the audit service (examples/audit).
package main

import (
	"github.com/choreo-dev/choreo/examples/audit"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/service"
)

func main() {
	service.Main(func(*config.Env) service.Spec { return audit.Spec() })
}
