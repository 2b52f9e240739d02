package config

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Identity is a persona as seen in one environment: overrides applied.
type Identity struct {
	Persona string
	Env     string
	Name    string
	Email   string
	Groups  []string
	Claims  map[string]any
}

// IdentityIn resolves persona id in environment env.
func (c *Config) IdentityIn(id, env string) (Identity, bool) {
	p, ok := c.Persona(id)
	if !ok {
		return Identity{}, false
	}
	out := Identity{Persona: p.ID, Env: env, Name: p.Name, Email: p.Email,
		Groups: slices.Clone(p.Groups), Claims: maps.Clone(p.Claims)}
	if o, ok := p.Envs[env]; ok {
		out.Name = cmp.Or(o.Name, out.Name)
		out.Email = cmp.Or(o.Email, out.Email)
		if o.Groups != nil {
			out.Groups = slices.Clone(o.Groups)
		}
		if len(o.Claims) > 0 {
			if out.Claims == nil {
				out.Claims = map[string]any{}
			}
			maps.Copy(out.Claims, o.Claims)
		}
	}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	return out, true
}

// Roles maps IdP groups to the environment's application roles, in the
// order of the groups, without duplicates.
func (e *Environment) RolesFor(groups []string) []string {
	roles := []string{}
	for _, g := range groups {
		for _, r := range e.Roles[g] {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	return roles
}

// PersonaByEmail finds the persona whose email in env is email, so that a
// bearer token can be shown as a persona.
func (c *Config) PersonaByEmail(env, email string) (Identity, bool) {
	for _, p := range c.Personas {
		if id, _ := c.IdentityIn(p.ID, env); id.Email == email {
			return id, true
		}
	}
	return Identity{}, false
}

// UnknownPersona is the one way authdev words a persona id the config does
// not define, wherever it was written (a flag, a check, the control
// endpoint): the id, the closest persona when it looks like a typo, and
// the personas there are.
func (c *Config) UnknownPersona(id string) error {
	ids := c.PersonaIDs()
	if len(ids) == 0 {
		return fmt.Errorf("unknown persona %q: there are none: add it under personas:", id)
	}
	return fmt.Errorf("unknown persona %q%s: use one of %s", id, didYouMean(id, ids), strings.Join(ids, ", "))
}

// UnknownEnvironment is the one way authdev words an environment name the
// config does not define, as UnknownPersona is for personas.
func (c *Config) UnknownEnvironment(name string) error {
	names := c.EnvironmentNames()
	return fmt.Errorf("unknown environment %q%s: use one of %s", name, didYouMean(name, names), strings.Join(names, ", "))
}
