// Command authdev brings the Citrix ADC edge — OIDC login, identity headers,
// signed assertions, policies — to a laptop and to CI.
package main

import (
	"os"

	"github.com/authdev/authdev/internal/cli"
)

// version is stamped by the release: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(cli.Main(version, os.Args[1:]))
}
