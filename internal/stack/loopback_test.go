package stack

import (
	"net"
	"net/http"
	"net/url"
	"testing"
)

// The proxy and the IdP listen on 127.0.0.1 by default; the same URLs with
// [::1] must answer too, as browsers may resolve localhost to either.
func TestThePrintedURLsAnswerOnTheIPv6LoopbackToo(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	s := startUp(t, Options{})
	c := s.client(t)
	for _, raw := range []string{s.ProxyURL() + "/.authdev/health", s.IdP().BaseURL() + "/dev/.well-known/openid-configuration"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = net.JoinHostPort("::1", u.Port())
		resp, err := c.Get(u.String())
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", u, resp.StatusCode)
		}
	}
}
