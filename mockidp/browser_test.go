package mockidp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/authdev/authdev/internal/testkit/chromium"
	"github.com/authdev/authdev/mockidp/idptest"
)

// clientApp is the relying party's callback: it shows the code it got.
func clientApp(t *testing.T) (redirect string, codes <-chan string) {
	ch := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		select {
		case ch <- r.URL.Query().Get("code"):
		default:
		}
		fmt.Fprintf(w, "<!doctype html><title>app</title><p id=done>signed in</p>")
	}))
	t.Cleanup(app.Close)
	return app.URL + "/callback", ch
}

func TestChromiumPicksAPersonaAndReachesTheClientWithACode(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	redirect, codes := clientApp(t)
	oc := oauthConfig(srv, "dev", "webapp", "webapp-secret", redirect, "openid", "email")
	v := oauth2.GenerateVerifier()

	for _, tc := range []struct {
		name, persona string
		choose        chromedp.Action[chromedp.Void]
	}{
		{"a click on a persona's button", "bob", chromedp.Click(chromedp.CSS(`button[value="bob"]`))},
		// The first persona has focus; Tab moves to the next, Enter submits.
		{"the keyboard alone", "bob", chromedp.KeyEvent("\t\r")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := chromium.Start(t)
			err := chromedp.Do(ctx,
				chromedp.Navigate(oc.AuthCodeURL("st", oauth2.S256ChallengeOption(v))),
				chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)),
			)
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			heading, err1 := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
			env, err2 := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.env`)))
			if err := errors.Join(err1, err2, chromedp.Do(ctx, tc.choose, chromedp.WaitVisible(chromedp.ID("done")))); err != nil {
				t.Fatalf("chromium: %v", err)
			}
			if !strings.Contains(heading, "Sign in to") || env != "dev" {
				t.Errorf("picker heading %q, environment %q", heading, env)
			}
			var code string
			select {
			case code = <-codes:
			case <-time.After(10 * time.Second):
				t.Fatal("the client's callback got no request")
			}
			tok, err := oc.Exchange(context.Background(), code, oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			if got := claimsOf(t, tok.AccessToken)["email"]; got != tc.persona+"@example.com" {
				t.Fatalf("logged in %v, want %s", got, tc.persona)
			}
		})
	}
}
