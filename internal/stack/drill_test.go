package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/oidcgrant"
	"github.com/authdev/authdev/internal/state"
)

// clock is a stack clock a test moves.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDrillsThroughTheControlEndpoint(t *testing.T) {
	t.Parallel()
	store := state.NewMemory()
	clk := &clock{}
	s := startUp(t, Options{Store: store, Now: clk.now})
	token, _ := store.Get(ControlTokenKey)
	ctx := context.Background()
	drill := func(t *testing.T, name Drill, d string) DrillState {
		t.Helper()
		st, err := RunDrillAt(ctx, s.ProxyURL(), string(token), s.CA().Pool(), &DrillRequest{Drill: name, Duration: d})
		if err != nil {
			t.Fatalf("drill %s %s: %v", name, d, err)
		}
		return st
	}
	issuer := s.IdP().Issuer("dev")
	tokenNow := func(t *testing.T) map[string]any {
		t.Helper()
		tok, err := oidcgrant.Code(ctx, oidcgrant.Request{Issuer: issuer, ClientID: config.CLIClientID, Persona: "alice",
			Scopes: []string{"openid", "email"}})
		if err != nil {
			t.Fatal(err)
		}
		return claimsOf(t, tok.AccessToken)
	}

	t.Run("the IdP's clock runs ahead", func(t *testing.T) {
		drill(t, DrillSkewClock, "+10m")
		iat := time.Unix(int64(tokenNow(t)["iat"].(float64)), 0)
		if ahead := iat.Sub(clk.now()); ahead < 9*time.Minute || ahead > 11*time.Minute {
			t.Errorf("a token issued under +10m skew has iat %s ahead", ahead)
		}
		drill(t, DrillSkewClock, "0")
	})
	t.Run("tokens live as long as the drill says", func(t *testing.T) {
		st := drill(t, DrillTokenLifetime, "30s")
		c := tokenNow(t)
		if life := c["exp"].(float64) - c["iat"].(float64); life != 30 || st.TokenLifetime != "30s" {
			t.Errorf("token life %vs, state %+v", life, st)
		}
		drill(t, DrillTokenLifetime, "0")
		if c := tokenNow(t); c["exp"].(float64)-c["iat"].(float64) != 300 {
			t.Errorf("token-lifetime 0 did not go back to idp.token_ttl (5m)")
		}
	})
	t.Run("the JWKS and then the whole IdP drop connections for a while", func(t *testing.T) {
		get := func(url string) error {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		st := drill(t, DrillJWKSDown, "30s")
		if st.JWKSDownUntil == nil || get(issuer+"/.well-known/openid-configuration") != nil || get(s.IdP().Endpoints("dev").JWKS) == nil {
			t.Errorf("jwks-down: state %+v; discovery must answer and the JWKS not", st)
		}
		drill(t, DrillIdPDown, "30s")
		if get(issuer+"/.well-known/openid-configuration") == nil {
			t.Error("idp-down: the IdP still answers")
		}
		clk.advance(31 * time.Second)
		if err := get(s.IdP().Endpoints("dev").JWKS); err != nil {
			t.Errorf("after the drill's time the JWKS is still down: %v", err)
		}
	})
	t.Run("keys rotate and the old one stays published", func(t *testing.T) {
		st := drill(t, DrillRotateKeys, "")
		if !strings.Contains(st.Done, "signing keys of dev, staging, prod") {
			t.Errorf("done: %q", st.Done)
		}
		resp, err := http.Get(s.IdP().Endpoints("prod").JWKS)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []struct{ Kid string } }
		json.NewDecoder(resp.Body).Decode(&set)
		if len(set.Keys) != 2 {
			t.Errorf("prod's JWKS holds %d keys after a rotation, want the new and the old", len(set.Keys))
		}
	})
	t.Run("bad drills are refused with how to fix them", func(t *testing.T) {
		for _, tt := range []struct {
			req  DrillRequest
			want string
		}{
			{DrillRequest{Drill: "flood"}, `no drill "flood": use one of expire-sessions, idp-down`},
			{DrillRequest{Drill: DrillIdPDown}, `drill "idp-down" needs a duration: how long, e.g. 30s`},
			{DrillRequest{Drill: DrillIdPDown, Duration: "soon"}, `duration "soon": write it like 30s`},
			{DrillRequest{Drill: DrillTokenLifetime, Duration: "-1m"}, "use 0 or more"},
			{DrillRequest{Drill: DrillRotateKeys, Env: "qa"}, `no environment "qa"`},
		} {
			if _, err := RunDrillAt(ctx, s.ProxyURL(), string(token), s.CA().Pool(), &tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%+v: %v, want %q", tt.req, err, tt.want)
			}
		}
		if _, err := RunDrillAt(ctx, s.ProxyURL(), "wrong", s.CA().Pool(), nil); err == nil || !strings.Contains(err.Error(), "control token") {
			t.Errorf("a wrong token: %v", err)
		}
	})
}
