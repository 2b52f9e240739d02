package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenState is the token screen: whose token, the token, and its decoded
// parts.
type tokenState struct {
	persona, env string
	loading      bool
	token        string
	header       map[string]any
	claims       map[string]any
	err          error
}

// anyAlg lets the TUI decode whatever the IdP signs with; it only shows the
// claims and never trusts them.
func anyAlg() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
	}
}

// decodeToken splits a JWT into its header and claims without verifying it.
func decodeToken(raw string) (header, claims map[string]any, err error) {
	tok, err := jwt.ParseSigned(raw, anyAlg())
	if err != nil {
		return nil, nil, fmt.Errorf("decode the access token: %w", err)
	}
	claims = map[string]any{}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return nil, nil, fmt.Errorf("decode the access token's claims: %w", err)
	}
	header = map[string]any{}
	if len(tok.Headers) > 0 {
		h := tok.Headers[0]
		header["alg"] = h.Algorithm
		if h.KeyID != "" {
			header["kid"] = h.KeyID
		}
		for k, v := range h.ExtraHeaders {
			header[string(k)] = v
		}
	}
	return header, claims, nil
}

// tokenContent renders the token screen for width w.
func (s Styles) tokenContent(t tokenState, w int) string {
	var b strings.Builder
	b.WriteString(s.Bold.Render(fmt.Sprintf("Access token of %s in %s", t.persona, t.env)) + "\n\n")
	switch {
	case t.loading:
		b.WriteString(s.Muted.Render("asking the IdP for a token…"))
		return b.String()
	case t.err != nil:
		b.WriteString(s.Error.Render(ansi.Wrap(t.err.Error(), max(10, w), " ")))
		return b.String()
	}
	b.WriteString(ansi.Hardwrap(t.token, max(10, w), false) + "\n")
	b.WriteString("\n" + s.Section.Render("Header") + "\n")
	b.WriteString(s.claims(t.header, w))
	b.WriteString("\n" + s.Section.Render("Claims") + "\n")
	b.WriteString(s.claims(t.claims, w))
	return strings.TrimRight(b.String(), "\n")
}
