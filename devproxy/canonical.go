package devproxy

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// CanonicalPath is the path the proxy serves for escaped, a request's path
// as sent: percent-encoded unreserved characters decoded (RFC 3986
// §6.2.2.2) and dot segments removed. The proxy redirects a request whose
// path is not canonical to the canonical one, so that policies, `authdev
// adc explain` and the backend all see one path: "/%61dmin" or "/x/../admin"
// would otherwise pass a policy on "/admin" and still reach the backend's
// /admin route.
func CanonicalPath(escaped string) string {
	p := decodeUnreserved(escaped)
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	if clean := cleanPath(decoded); clean != decoded {
		return (&url.URL{Path: clean}).EscapedPath()
	}
	return p
}

// redirectToCanonical sends the client to the canonical form of its path
// (308, so the method and body are kept) and reports whether it did.
func redirectToCanonical(w http.ResponseWriter, r *http.Request) bool {
	u := r.URL
	// Without RawPath the client's path is the default escaping of Path,
	// which encodes no unreserved character: only dot segments can remain.
	if u.RawPath == "" && cleanPath(u.Path) == u.Path {
		return false
	}
	escaped := u.EscapedPath()
	canon := CanonicalPath(escaped)
	if canon == escaped {
		return false
	}
	target := *u
	target.Path, _ = url.PathUnescape(canon)
	target.RawPath = canon
	http.Redirect(w, r, target.RequestURI(), http.StatusPermanentRedirect)
	return true
}

func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.Contains(p, "/.") && !strings.Contains(p, "//") {
		return p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// decodeUnreserved decodes the percent-encodings of unreserved characters
// (ALPHA, DIGIT, "-", ".", "_", "~"), which mean the same as the character
// itself; every other encoding stays as it is.
func decodeUnreserved(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		c, ok := unhex(s[i+1], s[i+2])
		if !ok || !isUnreserved(c) {
			continue
		}
		if last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteByte(c)
		last = i + 3
		i += 2
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func unhex(hi, lo byte) (byte, bool) {
	h, ok1 := hexValue(hi)
	l, ok2 := hexValue(lo)
	return h<<4 | l, ok1 && ok2
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
