package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// EmbeddedDemoName is Config.Source for the built-in demo configuration.
const EmbeddedDemoName = "(built-in demo)"

// FileName is the config file looked for in the working directory.
const FileName = "authdev.yaml"

// EnvVar names the environment variable that points at a config file.
const EnvVar = "AUTHDEV_CONFIG"

//go:embed demo.yaml
var demoYAML []byte

// DemoYAML returns the text of the built-in demo configuration.
func DemoYAML() []byte { return demoYAML }

// Options are the side inputs of loading; zero values use the process's.
type Options struct {
	// LookupEnv resolves ${NAME} references; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Find returns the config file to use: flagPath, then $AUTHDEV_CONFIG, then
// ./authdev.yaml. It returns "" when none is given or present, meaning the
// embedded demo.
func Find(flagPath string, getenv func(string) string) string {
	if flagPath != "" {
		return flagPath
	}
	if p := getenv(EnvVar); p != "" {
		return p
	}
	if _, err := os.Stat(FileName); err == nil {
		return FileName
	}
	return ""
}

// Load reads and validates the config at path, or the embedded demo when
// path is "". Problems in the file are returned as Errors.
func Load(path string, opts Options) (*Config, error) {
	cfg, errs := LoadAll(path, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// LoadAll is Load that returns what it decoded together with every
// problem, so that a caller can go on to check what builds on the config
// (policy expressions, ns.conf) and report everything in one run. The
// config is nil only when the file cannot be read or is not YAML.
func LoadAll(path string, opts Options) (*Config, Errors) {
	if path == "" {
		return parseAll(demoYAML, EmbeddedDemoName, ".", opts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, Errors{{Pos: Pos{File: path}, Msg: "no such file: create one with `authdev init`, or pass --config"}}
		}
		return nil, Errors{{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, Errors{{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot find its folder: %v", err)}}
	}
	return parseAll(data, path, dir, opts)
}

// Parse decodes and validates a config. source names it in errors; dir is
// where relative paths point.
func Parse(data []byte, source, dir string, opts Options) (*Config, error) {
	cfg, errs := parseAll(data, source, dir, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

func parseAll(data []byte, source, dir string, opts Options) (*Config, Errors) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = osLookup
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlSyntaxProblem(source, err)}
	}
	d := &decoder{file: source, lookupEnv: opts.LookupEnv, keyPos: map[uintptr]Pos{}}
	cfg := &Config{Source: source, Dir: dir, keyPos: d.keyPos}
	if len(root.Content) > 0 {
		d.decode(&root, reflect.ValueOf(cfg).Elem())
	}
	cfg.applyDefaults()
	cfg.validate(&d.errs)
	return cfg, d.errs.sorted()
}

func yamlSyntaxProblem(source string, err error) Problem {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return Problem{Pos: Pos{File: source}, Msg: te.Error()}
	}
	// yaml.v3 syntax errors read "yaml: line N: message".
	var line int
	var msg string
	if n, _ := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); n == 1 {
		msg = err.Error()[len(fmt.Sprintf("yaml: line %d: ", line)):]
		return Problem{Pos: Pos{File: source, Line: line, Col: 1}, Msg: "YAML syntax: " + msg}
	}
	return Problem{Pos: Pos{File: source}, Msg: "YAML syntax: " + err.Error()}
}

// Persona returns the persona with the given id.
func (c *Config) Persona(id string) (*Persona, bool) {
	for i := range c.Personas {
		if c.Personas[i].ID == id {
			return &c.Personas[i], true
		}
	}
	return nil, false
}

// Environment returns the environment with the given name.
func (c *Config) Environment(name string) (*Environment, bool) {
	for i := range c.Environments {
		if c.Environments[i].Name == name {
			return &c.Environments[i], true
		}
	}
	return nil, false
}

// EnvironmentNames lists environments in file order.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// PersonaIDs lists personas in file order.
func (c *Config) PersonaIDs() []string {
	ids := make([]string, len(c.Personas))
	for i, p := range c.Personas {
		ids[i] = p.ID
	}
	return ids
}

// DefaultEnvironment is the environment active when none is chosen.
func (c *Config) DefaultEnvironment() string { return c.Environments[0].Name }

// TLSEnabled reports whether the proxy serves HTTPS.
func (p *Proxy) TLSEnabled() bool { return p.TLS == nil || *p.TLS }

// BrowserURL is the URL browsers use for the proxy listening on addr:
// proxy.public_url, or the listen address (localhost for a wildcard one).
func (p *Proxy) BrowserURL(addr string) string {
	if p.PublicURL != "" {
		return strings.TrimRight(p.PublicURL, "/")
	}
	scheme := "http"
	if p.TLSEnabled() {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// IsDemo reports whether this is the embedded demo configuration.
func (c *Config) IsDemo() bool { return c.Source == EmbeddedDemoName }

// Resolve makes a path from the config absolute, relative to the config's
// folder.
func (c *Config) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(c.Dir, path)
}

// ClientIDs lists every client the IdP knows: the built-in ones, then
// idp.clients.
func (c *Config) ClientIDs() []string {
	ids := slices.Clone(ReservedClientIDs)
	for _, cl := range c.IDP.Clients {
		ids = append(ids, cl.ID)
	}
	return ids
}
