package cli

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// Factory carries what commands share: IO, the environment, the global flags
// and lazily loaded config and state store. Tests build one with TestIO and
// their own Getenv.
type Factory struct {
	IO      *IO
	Getenv  func(string) string
	Now     func() time.Time
	Version string

	// Global flags.
	ConfigPath   string
	StateBackend string

	loadConfig sync.Once
	cfg        *config.Config
	cfgErr     error
	openState  sync.Once
	store      state.Store
	storeErr   error
}

// NewFactory returns a Factory for the real process.
func NewFactory(version string) *Factory {
	return &Factory{IO: SystemIO(), Getenv: os.Getenv, Now: time.Now, Version: version}
}

// ConfigFile is the config file in use, "" for the built-in demo.
func (f *Factory) ConfigFile() string { return config.Find(f.ConfigPath, f.Getenv) }

// Config loads the configuration once: --config, $AUTHDEV_CONFIG,
// ./authdev.yaml, or the built-in demo.
func (f *Factory) Config() (*config.Config, error) {
	f.loadConfig.Do(func() {
		f.cfg, f.cfgErr = config.Load(f.ConfigFile(), f.LoadOptions())
	})
	return f.cfg, f.cfgErr
}

// LoadOptions resolve the config's ${NAME} references with f.Getenv.
func (f *Factory) LoadOptions() config.Options {
	return config.Options{LookupEnv: func(k string) (string, bool) { v := f.Getenv(k); return v, v != "" }}
}

// State opens the state store once, as chosen by --state.
func (f *Factory) State() (state.Store, error) {
	f.openState.Do(func() {
		f.store, f.storeErr = state.Open(f.StateBackend, state.Options{Getenv: f.Getenv})
	})
	return f.store, f.storeErr
}

// Statusf writes a status line to stderr.
func (f *Factory) Statusf(format string, args ...any) {
	fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
}
