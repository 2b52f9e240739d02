package e2e

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLoginsCompleteOnTheLoopbackNameTheyStartedOn opens the demo of
// `authdev up` in Chromium at localhost, at 127.0.0.1 (the proxy's own URL)
// and at [::1] when the machine has it: each login comes back to the name
// the browser typed, whose cookies hold the login, and so does the silent
// login after `authdev as`. `authdev test --proxy` through localhost logs
// in the same way.
func TestBrowserLoginsCompleteOnTheLoopbackNameTheyStartedOn(t *testing.T) {
	s := startAuthdev(t)
	u, err := url.Parse(s.proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		host, picks, switchTo string
	}{
		// The picker first; from then on a persona is active and the next
		// login is silent.
		{"localhost", "bob", "alice"},
		{"127.0.0.1", "", "carol"},
		{"::1", "", "bob"},
	}
	active := ""
	for _, st := range steps {
		t.Run("at "+st.host, func(t *testing.T) {
			if st.host == "::1" {
				if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
					t.Skipf("this machine has no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			base := "https://" + net.JoinHostPort(st.host, u.Port())
			ctx := newBrowser(t, s)
			want := cmp.Or(st.picks, active)
			if got := demoPersonaAt(t, ctx, s, base, st.picks); got != want {
				t.Fatalf("the demo at %s shows %q, want %q", base, got, want)
			}
			if _, errOut, code := s.authdevCmd(t, "as", st.switchTo); code != 0 {
				t.Fatalf("authdev as %s: exit %d: %s", st.switchTo, code, errOut)
			}
			active = st.switchTo
			if got := demoPersonaAt(t, ctx, s, base, ""); got != st.switchTo {
				t.Fatalf("after authdev as %s the demo at %s shows %q", st.switchTo, base, got)
			}
		})
	}
	t.Run("authdev test --proxy at localhost", func(t *testing.T) {
		at := "https://" + net.JoinHostPort("localhost", u.Port())
		out, errOut, code := s.authdevCmd(t, "test", "--proxy", at, "--env", "dev")
		if code != 0 {
			t.Fatalf("authdev test --proxy %s: exit %d\n%s\n%s", at, code, out, errOut)
		}
	})
}

// demoPersonaAt opens the demo backend at base, picks persona at the IdP's
// picker when one is given, waits until the browser is back at base (not
// at another name of the proxy, not on a failed callback) and returns the
// persona the demo page shows.
func demoPersonaAt(t *testing.T, ctx context.Context, s *stack, base, persona string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	if persona != "" {
		button := chromedp.CSS(`button.persona[value="` + persona + `"]`)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(button)); err != nil {
			t.Fatalf("no persona picker at %s: %v", location(t, ctx), err)
		}
		if loc := location(t, ctx); !strings.HasPrefix(loc, s.issuer) {
			t.Fatalf("the picker is at %s, not at the IdP %s", loc, s.issuer)
		}
		if err := chromedp.Do(ctx, chromedp.Click(button)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for loc := location(t, ctx); !strings.HasPrefix(loc, base+"/") || strings.HasPrefix(loc, base+"/oauth/"); loc = location(t, ctx) {
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("the browser is at %s, not back at %s:\n%s", loc, base, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#who"), "data-persona"))
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("no persona on the demo page at %s: %v\n%s", location(t, ctx), err, body)
	}
	return attr.Value
}
