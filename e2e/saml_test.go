package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Headless Chromium logs in through SAML: the proxy (proxy.login: saml)
// sends an AuthnRequest by HTTP-Redirect, the IdP's persona picker answers
// with the HTTP-POST form that the page's script submits to /cgi/samlauth,
// and the demo backend shows the persona with a verified assertion. The
// login is started on localhost and on 127.0.0.1, and completes on each.
func TestChromiumLogsInThroughSAML(t *testing.T) {
	s := startAuthdevWith(t, func(cfg string) string {
		return strings.Replace(cfg, "  tls: true\n", "  tls: true\n  login: saml\n", 1)
	})
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			ctx := newBrowser(t, s)
			proxy := strings.Replace(s.proxyURL, "127.0.0.1", host, 1)
			proxy = strings.Replace(proxy, "localhost", host, 1)
			if err := chromedp.Do(ctx, chromedp.Navigate(proxy+"/")); err != nil {
				t.Fatal(err)
			}
			button := chromedp.CSS(`button.persona[value="bob"]`)
			if err := chromedp.Do(ctx, chromedp.WaitVisible(button)); err != nil {
				t.Fatalf("no persona picker at %s: %v", location(t, ctx), err)
			}
			if loc := location(t, ctx); !strings.Contains(loc, "/saml/sso?SAMLRequest=") {
				t.Fatalf("the picker is at %s, not at the IdP's SAML SSO service", loc)
			}
			if err := chromedp.Do(ctx, chromedp.Click(button)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#verified"))); err != nil {
				body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				t.Fatalf("no demo page after the SAML login at %s: %v\n%s", location(t, ctx), err, body)
			}
			if loc := location(t, ctx); !strings.HasPrefix(loc, proxy+"/") {
				t.Errorf("the login ended at %s, not on %s", loc, proxy)
			}
			attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#who"), "data-persona"))
			if err != nil {
				t.Fatal(err)
			}
			verified, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#verified")))
			roles, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#roles")))
			if attr.Value != "bob" || verified != "assertion verified" || !strings.Contains(roles, "admin") {
				t.Fatalf("after the SAML login the demo shows persona %q, %q, roles %q", attr.Value, verified, roles)
			}
			saveScreenshot(t, ctx, "saml-login-"+host+".png")
		})
	}
}
