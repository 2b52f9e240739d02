package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authdev/authdev/internal/testkit/chromium"
)

// newBrowser starts headless Chromium with a fresh profile. It trusts the
// proxy's certificate by its public key only after Go has checked that the
// certificate chains to authdev's CA, so the browser trusts exactly what a
// user who ran `authdev ca trust` would.
func newBrowser(t *testing.T, s *stack) context.Context {
	t.Helper()
	spki := proxySPKI(t, s)
	return chromium.Start(t, chromedp.Flag("ignore-certificate-errors-spki-list", spki))
}

// proxySPKI returns the base64 SHA-256 of the proxy leaf's public key, after
// verifying the leaf against authdev's CA.
func proxySPKI(t *testing.T, s *stack) string {
	t.Helper()
	u, err := url.Parse(s.proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caPEM)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: u.Hostname()})
	if err != nil {
		t.Fatalf("the proxy's certificate does not chain to `authdev ca print`: %v", err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// pageJSON reads a JSON document the browser shows as text.
func pageJSON(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("page is not JSON: %v\n%s", err, text)
	}
	return m
}

// visit navigates to url and returns the page's text.
func visit(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// location is the browser's current URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// saveScreenshot keeps a picture of the page in $AUTHDEV_E2E_ARTIFACTS, when
// set, for a person (or CI's artifact store) to look at.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("AUTHDEV_E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 gives PNG, not JPEG
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}
