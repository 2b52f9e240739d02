package cli

import (
	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
)

// compileConfig checks the parts of a config that other packages own:
// policy and header expressions, and the ns.conf of proxy.adc_config. Its
// errors are config.Errors with file:line:col, so they exit with status 2.
func compileConfig(cfg *config.Config) error {
	_, err := adc.Compile(cfg)
	return err
}
