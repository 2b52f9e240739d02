package adc

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// The NetScaler documentation is the oracle: each row is an example of a
// documentation page, with the request the page describes and the value
// the page says the expression returns.
const (
	docCitrix       = "https://docs.citrix.com/en-us/citrix-adc/current-release/appexpert/policies-and-expressions/"
	docPrefixes     = docCitrix + "advanced-policy-exp-evaluation-text/expression-prefixes-in-http-requests-responses"
	docURLSegments  = docCitrix + "advanced-policy-exp-parsing-http-tcp-udp/expressions-for-extracting-segments-of-urls"
	docSafe         = docCitrix + "advanced-policy-exp-parsing-http-tcp-udp/operations-for-http-htmpl-xml-encoding-and-safe-characters"
	docSysTime      = docCitrix + "adv-policy-exp-working-with-dates-times-and-numbers/expressions-for-system-time"
	docTimeFormat   = docCitrix + "adv-policy-exp-working-with-dates-times-and-numbers/date-and-time-format-in-an-exp"
	docGuide        = "https://manualsdump.com/en/manuals/citrix_systems-9.2/122114/" // NetScaler 9.2 Policy Configuration and Reference Guide, by page
	docGuideBasic   = docGuide + "58"                                                 // Basic Operations for Expressions
	docGuideHeaders = docGuide + "139"                                                // Operations That Evaluate HTTP Headers: INSTANCE, SUBSTR
	docGuideValue   = docGuide + "140"                                                // Operations That Evaluate HTTP Headers: VALUE
	docGuidePath    = docGuide + "144"                                                // Prefixes That Extract URLs: PATH.GET, GET_REVERSE
	docGuideSafe    = docGuide + "146"                                                // HTTP_URL_SAFE, SET_TEXT_MODE(URLENCODED|PLUS_AS_SPACE)
	docGuideText    = "http://manualsbrain.com/en/manuals/793341/?page="              // the same guide, HTTP Expression Prefixes that Return Text
	docGuideHost    = docGuideText + "83"                                             // HOSTNAME.DOMAIN, SERVER, PATH_AND_QUERY
	docGuideQuery   = docGuideText + "84"                                             // QUERY.VALUE, SUFFIX, IGNORE_EMPTY_ELEMENTS
	docRedirect     = "https://blog.norz.at/redirecting-a-user-to-a-ssl-page-preserving-the-url/"
)

// docNow is the time of the SYS.TIME page's examples: "if the current time
// is GMT 2005 May 1 10h 15m 30s, and it is the first Sunday of the month".
var docNow = time.Date(2005, time.May, 1, 10, 15, 30, 0, time.UTC)

// docRequest is http://www.myhost.com:8080/a/b/c/mypage.html?a=1, the
// URL of the guide's examples, with the headers of its header examples.
func docRequest(target, host string) *Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RequestURI, r.Host = target, host // as the client sent it, spaces and all
	r.Header.Add("MyHeader", "abc")
	r.Header.Add("MyHeader", "def")
	r.Header.Set("Cust_Header", "123,,24, ,15")
	r.Header.Set("Cache-Control", "no-cache")
	r.Header.Set("X-Text", "/logon Page?a=b&c")
	local := &net.TCPAddr{IP: net.ParseIP("10.100.10.100"), Port: 80}
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
	return &Request{HTTP: r, ClientIP: netip.MustParseAddr("10.1.2.3"), User: &User{Name: "staff2", Groups: []string{"VIP"},
		Attributes: map[string]any{"memberof": "CN=grp1,CN=grp4"}}}
}

func TestExpressionsGiveTheDocumentedValues(t *testing.T) {
	const url = "/a/b/c/mypage.html?a=1&action=view"
	const host = "www.myhost.com:8080"
	tests := []struct {
		doc, expr string
		target    string // "" for url
		host      string // "" for host
		want      string // a boolean, a number or a text, as text
	}{
		{docPrefixes, `HTTP.REQ.URL.PATH`, "", "", "/a/b/c/mypage.html"},
		{docGuideHost, `HTTP.REQ.URL.PATH_AND_QUERY`, "", "", url},
		{docGuideQuery, `HTTP.REQ.URL.SUFFIX`, "", "", "html"},
		{docGuideQuery, `http.req.url.suffix.contains("jpeg")`, "", "", "false"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.DOMAIN`, "", "", "myhost.com"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.DOMAIN`, "", "www.myhost.com", "myhost.com"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.DOMAIN.EQ("MyHost.COM")`, "", "", "true"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.SERVER`, "", "", "www.myhost.com"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.SERVER.EQ("WWW.MYHOST.COM")`, "", "", "true"},
		{docGuideBasic, `http.req.hostname.eq("www.mycompany.com")`, "", "WWW.MyCompany.com", "true"},
		{docGuideHost, `HTTP.REQ.HOSTNAME.PORT`, "", "", "8080"},
		{docGuideQuery, `http.req.url.query.value("action")`, "", "", "view"},
		{docGuideQuery, `http.req.url.query.value("ACTION")`, "", "", ""},
		{docGuideQuery, `http.req.url.query.set_text_mode(ignorecase).value("ACTION")`, "", "", "view"},
		{docGuideHost, `http.req.url.query.contains("viewReport && my_pagelabel")`, "/x?viewReport && my_pagelabel", "", "true"},
		{docGuideHost, `HTTP.REQ.URL.QUERY.GET(1)`, "", "", "action=view"},
		{docGuideHost, `HTTP.REQ.URL.QUERY.COUNT`, "", "", "2"},
		{docURLSegments, `http.req.url.path.get(1)`, "/dir1/dir2/dir3/index.html?a=1", "", "dir1"},
		{docGuidePath, `http.req.url.path.get(2)`, "/dir1/dir2/dir3/index.html?a=1", "", "dir2"},
		{docGuidePath, `http.req.url.path.get_reverse(0)`, "/dir1/dir2/dir3/index.html?a=1", "", "index.html"},
		{docGuidePath, `http.req.url.path.get_reverse(1)`, "/dir1/dir2/dir3/index.html?a=1", "", "dir3"},
		{docGuideQuery, `HTTP.REQ.HEADER("Cust_Header").TYPECAST_LIST_T(',').IGNORE_EMPTY_ELEMENTS.COUNT`, "", "", "4"},
		{docGuideQuery, `HTTP.REQ.HEADER("Cust_Header").TYPECAST_LIST_T(',').COUNT`, "", "", "5"},
		{docGuideQuery, `HTTP.REQ.HEADER("Cust_Header").TYPECAST_LIST_T(',').IGNORE_EMPTY_ELEMENTS.GET(1)`, "", "", "24"},
		{docGuideQuery, `HTTP.REQ.HEADER("Cust_Header").TYPECAST_LIST_T(',').GET_REVERSE(0)`, "", "", "15"},
		{docGuideHeaders, `http.req.header("MyHeader").instance(1)`, "", "", "abc"},
		{docGuideHeaders, `http.req.header("MyHeader").instance(0)`, "", "", "def"},
		{docGuideValue, `http.req.header("MyHeader").value(1)`, "", "", "abc"},
		{docGuideValue, `http.req.header("MyHeader").value(0)`, "", "", "def"},
		{docGuideHeaders, `http.req.header("MyHeader").contains("abc")`, "", "", "true"},
		{docGuideHeaders, `http.req.header("MyHeader").eq("abc")`, "", "", "true"},
		{docGuideHeaders, `http.req.header("MyHeader").after_str("d")`, "", "", "ef"},
		{docGuideHeaders, `http.req.header("MyHeader").count`, "", "", "2"},
		{docGuideBasic, `http.req.header("Cache-Control").contains("no-cache")`, "", "", "true"},
		{docGuideBasic, `http.req.header("Cache-Control").exists`, "", "", "true"},
		{docGuideBasic, `http.req.method.eq(post)`, "", "", "false"},
		{docGuideBasic, `http.req.content_length.lt(5000)`, "", "", "true"},
		{docGuideBasic, `client.ip.dst.eq(10.100.10.100)`, "", "", "true"},
		{docGuideBasic, `CLIENT.IP.SRC.IN_SUBNET(10.0.0.0/8)`, "", "", "true"},
		{docGuideSafe, `HTTP.REQ.HEADER("X-Text").HTTP_URL_SAFE`, "", "", "/logon%20Page%3Fa=b&c"},
		{docSafe, `HTTP.REQ.URL.PATH.HTTP_URL_SAFE`, "", "", "/a/b/c/mypage.html"},
		{docGuideSafe, `HTTP.REQ.URL.QUERY.SET_TEXT_MODE(PLUS_AS_SPACE).DECODE_USING_TEXT_MODE`, "/s?q=hello+world", "", "q=hello world"},
		{docGuideSafe, `HTTP.REQ.URL.PATH.SET_TEXT_MODE(URLENCODED).DECODE_USING_TEXT_MODE`, "/logon%20Page", "", "/logon Page"},
		{docGuideSafe, `HTTP.REQ.URL.PATH.DECODE_USING_TEXT_MODE`, "/logon%20Page", "", "/logon%20Page"},
		{docRedirect, `"https://" + HTTP.REQ.HOSTNAME + HTTP.REQ.URL.HTTP_URL_SAFE`, "/logon Page", "www.example.com", "https://www.example.com/logon%20Page"},
		{docRedirect, `HTTP.REQ.IS_VALID`, "", "", "true"},
		{docSysTime, `SYS.TIME.BETWEEN(GMT 2004, GMT 2006)`, "", "", "true"},
		{docSysTime, `sys.time.between(GMT 2004 Jan, GMT 2006 Nov)`, "", "", "true"},
		{docSysTime, `sys.time.between(GMT 2004 Jan, GMT 2006)`, "", "", "true"},
		{docSysTime, `sys.time.between(GMT 2005 May 1, GMT 2005 May 1)`, "", "", "true"},
		{docSysTime, `sys.time.between(GMT 2006, GMT 2007)`, "", "", "false"},
		{docSysTime, `SYS.TIME.EQ(GMT 2005)`, "", "", "true"},
		{docSysTime, `sys.time.eq(GMT 2005 May)`, "", "", "true"},
		{docSysTime, `sys.time.eq(GMT 2005 May 1)`, "", "", "true"},
		{docSysTime, `sys.time.eq(GMT 2005 Jun)`, "", "", "false"},
		{docSysTime, `SYS.TIME.DAY`, "", "", "1"},
		{docSysTime, `SYS.TIME.MONTH`, "", "", "5"},
		{docSysTime, `SYS.TIME.YEAR`, "", "", "2005"},
		{docSysTime, `SYS.TIME.WEEKDAY`, "", "", "0"},
		{docSysTime, `SYS.TIME.GT(GMT 2005 Apr)`, "", "", "true"},
		{docSysTime, `SYS.TIME.LT(GMT 2005 May 1 10h)`, "", "", "false"},
		{docTimeFormat, `SYS.TIME.BETWEEN(GMT 2005 May 1_10h_12m, GMT 2005 May 1_10h_20m)`, "", "", "true"},
		{docTimeFormat, `SYS.TIME.WITHIN(GMT 09h, GMT 17h)`, "", "", "true"},
		{docTimeFormat, `SYS.TIME.WITHIN(GMT 11h, GMT 17h)`, "", "", "false"},
		{docGuideBasic, `aaa.user.attribute("memberof").contains("grp4")`, "", "", "true"},
		{docGuideBasic, `AAA.USER.IS_MEMBER_OF("VIP") || client.IP.SRC.IN_SUBNET(10.0.0.0/8)`, "", "", "true"},
		{docGuideBasic, `CLIENT.SSL.IS_SSL`, "", "", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e := newEnv(map[string]*limiter{}, func() time.Time { return docNow })
			v, err := compileValue(tt.expr, e)
			if err != nil {
				t.Fatalf("compile: %v (documented at %s)", err, tt.doc)
			}
			req := docRequest(cmp.Or(tt.target, url), cmp.Or(tt.host, host))
			c := &evalCtx{req: req}
			var got string
			switch v.ty {
			case tyBool:
				got = strconv.FormatBool(v.pred(c))
			case tyNum:
				got = strconv.FormatInt(v.num(c), 10)
			default:
				tv, _ := asText(v)
				got = tv.text(c)
			}
			if c.undef != "" {
				t.Fatalf("UNDEF: %s (documented at %s)", c.undef, tt.doc)
			}
			if got != tt.want {
				t.Errorf("= %q, want %q, as documented at %s", got, tt.want, tt.doc)
			}
		})
	}
}
