package config

import (
	"maps"
	"slices"
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
		out.Name = or(o.Name, out.Name)
		out.Email = or(o.Email, out.Email)
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
