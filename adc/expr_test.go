package adc

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// exprRequest is the request every expression table test evaluates
// against.
func exprRequest() *Request {
	r := httptest.NewRequest("POST", "/api/v1/Orders/42?expand=items&debug=1&empty=", strings.NewReader(""))
	r.Host = "Shop.Example.com:8443"
	r.Header.Add("Accept", "text/html, application/json")
	r.Header.Add("X-Multi", "first")
	r.Header.Add("X-Multi", "second, third")
	r.Header.Set("Cookie", `theme=dark; session="abc123"; lang=en`)
	r.Header.Set("X-Count", "17")
	r.Header.Set("X-Quote", `say "hi"`)
	return &Request{
		HTTP:     r,
		ClientIP: netip.MustParseAddr("10.1.2.3"),
		Body:     []byte(`{"amount": 250, "currency": "EUR"}`),
		User: &User{
			Name:   "Alice@Example.com",
			Groups: []string{"eng-admins", "Finance"},
			Roles:  []string{"admin"},
			Attributes: map[string]any{
				"department": "platform",
				"roles":      []string{"admin", "auditor"},
				"scopes":     []any{"read", "write"},
				"level":      float64(3),
				"verified":   true,
			},
		},
	}
}

func evalBool(t *testing.T, src string, req *Request) bool {
	t.Helper()
	e := &env{limits: map[string]*limiter{}, oauthAttrs: []string{"department", "roles"}}
	fn, err := compileBool(src, e)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	c := &evalCtx{req: req}
	got := fn(c)
	if c.undef != "" {
		t.Fatalf("%s is UNDEF: %s", src, c.undef)
	}
	return got
}

func evalText(t *testing.T, src string, req *Request) string {
	t.Helper()
	e := &env{limits: map[string]*limiter{}, oauthAttrs: []string{"department", "roles"}}
	fn, err := compileText(src, e)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return fn(&evalCtx{req: req})
}

func TestBooleanExpressions(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want bool
	}{
		// Literals and operators.
		{"true is true", `true`, true},
		{"false is false", `FALSE`, false},
		{"ns_true is true", `ns_true`, true},
		{"&& needs both", `true && false`, false},
		{"|| needs one", `false || true`, true},
		{"! negates", `!false`, true},
		{".NOT negates", `true.NOT`, false},
		{".NOT applies to a parenthesised expression", `(true && false).NOT`, true},
		{"&& binds tighter than ||", `true || true && false`, true},
		{"parentheses override precedence", `(true || true) && false`, false},
		{"! binds tighter than &&", `!false && false`, false},
		{"double negation", `!!true`, true},
		{"numbers compare with ==", `HTTP.REQ.URL.PATH.LENGTH == 17`, true},
		{"numbers compare with <", `HTTP.REQ.URL.PATH.LENGTH < 17`, false},
		{"numbers compare with >=", `HTTP.REQ.URL.PATH.LENGTH >= 17`, true},
		{"texts compare with ==", `HTTP.REQ.METHOD == "POST"`, true},
		{"texts compare with !=", `HTTP.REQ.METHOD != "POST"`, false},
		{"arithmetic adds numbers", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T + 3 == 20`, true},
		{"arithmetic subtracts numbers", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T - 7 == 10`, true},

		// Keywords are case-blind, comparisons are not.
		{"keywords in lower case", `http.req.url.path.startswith("/api")`, true},
		{"keywords in mixed case", `Http.Req.Method.Eq(POST)`, true},
		{"EQ is case-sensitive", `HTTP.REQ.URL.PATH.EQ("/api/v1/orders/42")`, false},
		{"EQ matches exactly", `HTTP.REQ.URL.PATH.EQ("/api/v1/Orders/42")`, true},
		{"IGNORECASE makes EQ case-blind", `HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).EQ("/API/V1/orders/42")`, true},
		{"NOIGNORECASE restores case", `HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).SET_TEXT_MODE(NOIGNORECASE).EQ("/api/v1/orders/42")`, false},
		{"IGNORECASE carries through AFTER_STR", `HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).AFTER_STR("/V1/").EQ("ORDERS/42")`, true},

		// Text operations.
		{"NE", `HTTP.REQ.METHOD.NE("GET")`, true},
		{"CONTAINS", `HTTP.REQ.URL.CONTAINS("expand=items")`, true},
		{"CONTAINS is case-sensitive", `HTTP.REQ.URL.CONTAINS("ORDERS")`, false},
		{"CONTAINS case-blind", `HTTP.REQ.URL.SET_TEXT_MODE(IGNORECASE).CONTAINS("ORDERS")`, true},
		{"STARTSWITH", `HTTP.REQ.URL.PATH.STARTSWITH("/api/v1/")`, true},
		{"STARTSWITH a longer string", `HTTP.REQ.URL.PATH.STARTSWITH("/api/v1/Orders/42/more")`, false},
		{"STARTSWITH case-blind", `HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).STARTSWITH("/API")`, true},
		{"ENDSWITH", `HTTP.REQ.URL.PATH.ENDSWITH("/42")`, true},
		{"ENDSWITH case-blind", `AAA.USER.NAME.SET_TEXT_MODE(IGNORECASE).ENDSWITH("@EXAMPLE.COM")`, true},
		{"REGEX_MATCH", `HTTP.REQ.URL.REGEX_MATCH(re#^/api/v[0-9]+/#)`, true},
		{"REGEX_MATCH with another delimiter", `HTTP.REQ.URL.PATH.REGEX_MATCH(re~Orders/[0-9]+$~)`, true},
		{"REGEX_MATCH is case-sensitive", `HTTP.REQ.URL.PATH.REGEX_MATCH(re#orders#)`, false},
		{"REGEX_MATCH case-blind", `HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).REGEX_MATCH(re#orders#)`, true},
		{"TO_LOWER", `HTTP.REQ.URL.PATH.TO_LOWER.CONTAINS("orders")`, true},
		{"TO_UPPER", `HTTP.REQ.METHOD.TO_UPPER.EQ("POST")`, true},
		{"LENGTH", `HTTP.REQ.METHOD.LENGTH.EQ(4)`, true},
		{"TYPECAST_NUM_T and GT", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.GT(16)`, true},
		{"LT", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.LT(17)`, false},
		{"GE", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.GE(17)`, true},
		{"LE", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.LE(16)`, false},
		{"numeric EQ and NE", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.EQ(17) && HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.NE(18)`, true},
		{"hex numbers", `HTTP.REQ.HEADER("X-Count").TYPECAST_NUM_T.EQ(0x11)`, true},
		{"TYPECAST_LIST_T and GET", `HTTP.REQ.URL.QUERY.TYPECAST_LIST_T('&').GET(1).EQ("debug=1")`, true},
		{"GET past the end is empty", `HTTP.REQ.URL.QUERY.TYPECAST_LIST_T('&').GET(9).EQ("")`, true},
		{"list COUNT", `HTTP.REQ.URL.QUERY.TYPECAST_LIST_T('&').COUNT.EQ(3)`, true},
		{"an argument may be an expression", `HTTP.REQ.URL.PATH.CONTAINS(HTTP.REQ.HEADER("X-Count"))`, false},

		// Strings and quoting.
		{"escaped quotes in a string", `HTTP.REQ.HEADER("X-Quote").EQ("say \"hi\"")`, true},
		{"q{} strings need no escapes", `HTTP.REQ.HEADER("X-Quote").EQ(q{say "hi"})`, true},
		{"q with another delimiter", `HTTP.REQ.HEADER("X-Quote").EQ(q|say "hi"|)`, true},
		{"a string may contain operators", `HTTP.REQ.URL.CONTAINS("&&") || HTTP.REQ.URL.CONTAINS("debug=1")`, true},
		{"a string may contain a parenthesis", `HTTP.REQ.URL.CONTAINS(")")`, false},
		{"+ joins texts", `("/api" + "/v1").EQ("/api/v1")`, true},

		// Request parts.
		{"METHOD.EQ takes a bare method", `HTTP.REQ.METHOD.EQ(POST)`, true},
		{"METHOD.EQ takes a quoted method", `HTTP.REQ.METHOD.EQ("POST")`, true},
		{"METHOD.NE", `HTTP.REQ.METHOD.NE(GET)`, true},
		{"a bare method is a keyword, so case-blind", `HTTP.REQ.METHOD.EQ(post)`, true},
		{"a quoted method is case-sensitive", `HTTP.REQ.METHOD.EQ("post")`, false},
		{"a quoted method case-blind", `HTTP.REQ.METHOD.SET_TEXT_MODE(IGNORECASE).EQ("post")`, true},
		{"URL has the query", `HTTP.REQ.URL.EQ("/api/v1/Orders/42?expand=items&debug=1&empty=")`, true},
		{"URL.PATH lacks the query", `HTTP.REQ.URL.PATH.EQ("/api/v1/Orders/42")`, true},
		{"URL.QUERY", `HTTP.REQ.URL.QUERY.STARTSWITH("expand=")`, true},
		{"QUERY.VALUE", `HTTP.REQ.URL.QUERY.VALUE("debug").EQ("1")`, true},
		{"QUERY.VALUE of an empty parameter", `HTTP.REQ.URL.QUERY.VALUE("empty").LENGTH.EQ(0)`, true},
		{"HOSTNAME keeps the port", `HTTP.REQ.HOSTNAME.EQ("Shop.Example.com:8443")`, true},
		{"HOSTNAME case-blind", `HTTP.REQ.HOSTNAME.SERVER.SET_TEXT_MODE(IGNORECASE).EQ("shop.example.com")`, true},
		{"HOSTNAME.PORT", `HTTP.REQ.HOSTNAME.PORT.EQ(8443)`, true},
		{"HEADER.EXISTS", `HTTP.REQ.HEADER("accept").EXISTS`, true},
		{"a missing header does not exist", `HTTP.REQ.HEADER("X-Missing").EXISTS`, false},
		{"a missing header is empty", `HTTP.REQ.HEADER("X-Missing").EQ("")`, true},
		{"HEADER reads the last instance", `HTTP.REQ.HEADER("X-Multi").EQ("second, third")`, true},
		{"HEADER.COUNT counts instances", `HTTP.REQ.HEADER("X-Multi").COUNT.EQ(2)`, true},
		{"HEADER.INSTANCE(1) is the one before the last", `HTTP.REQ.HEADER("X-Multi").INSTANCE(1).EQ("first")`, true},
		{"HEADER.VALUE(1) is the instance before the last", `HTTP.REQ.HEADER("X-Multi").VALUE(1).EQ("first")`, true},
		{"HEADER(Host) reads the host", `HTTP.REQ.HEADER("Host").STARTSWITH("Shop")`, true},
		{"COOKIE is the header", `HTTP.REQ.COOKIE.CONTAINS("lang=en")`, true},
		{"COOKIE.VALUE", `HTTP.REQ.COOKIE.VALUE("theme").EQ("dark")`, true},
		{"COOKIE.VALUE unquotes", `HTTP.REQ.COOKIE.VALUE("session").EQ("abc123")`, true},
		{"COOKIE.EXISTS", `HTTP.REQ.COOKIE.EXISTS("lang") && !HTTP.REQ.COOKIE.EXISTS("th")`, true},
		{"COOKIE.COUNT", `HTTP.REQ.COOKIE.COUNT.EQ(3)`, true},
		{"BODY(n) reads n bytes", `HTTP.REQ.BODY(14).EQ("{\"amount\": 250")`, true},
		{"BODY(n) beyond the body reads it all", `HTTP.REQ.BODY(1000).CONTAINS("EUR")`, true},
		{"CONTENT_LENGTH", `HTTP.REQ.CONTENT_LENGTH.EQ(0)`, true},

		// Client address.
		{"IN_SUBNET with a bare subnet", `CLIENT.IP.SRC.IN_SUBNET(10.0.0.0/8)`, true},
		{"outside the subnet", `CLIENT.IP.SRC.IN_SUBNET(192.168.0.0/16)`, false},
		{"IN_SUBNET .NOT", `CLIENT.IP.SRC.IN_SUBNET(192.168.0.0/16).NOT`, true},
		{"IP EQ", `CLIENT.IP.SRC.EQ(10.1.2.3)`, true},
		{"IP NE", `CLIENT.IP.SRC.NE(10.1.2.3)`, false},
		{"IPv6 subnet", `CLIENT.IP.SRC.IN_SUBNET(fd00::/8)`, false},

		// The user.
		{"IS_MEMBER_OF a role", `AAA.USER.IS_MEMBER_OF("admin")`, true},
		{"IS_MEMBER_OF a raw group", `AAA.USER.IS_MEMBER_OF("eng-admins")`, true},
		{"IS_MEMBER_OF is exact", `AAA.USER.IS_MEMBER_OF("finance")`, false},
		{"not a member", `AAA.USER.IS_MEMBER_OF("sales")`, false},
		{"NAME", `AAA.USER.NAME.EQ("Alice@Example.com")`, true},
		{"GROUPS is a comma list", `AAA.USER.GROUPS.EQ("eng-admins,Finance")`, true},
		{"GROUPS is a list", `AAA.USER.GROUPS.GET(1).EQ("Finance") && AAA.USER.GROUPS.COUNT == 2`, true},
		{"EXTERNAL_GROUPS are the IdP's groups", `AAA.USER.EXTERNAL_GROUPS.CONTAINS("Finance")`, true},
		{"ATTRIBUTE of a string claim", `AAA.USER.ATTRIBUTE("department").EQ("platform")`, true},
		{"ATTRIBUTE of a list claim", `AAA.USER.ATTRIBUTE("roles").EQ("admin,auditor")`, true},
		{"ATTRIBUTE of a JSON list claim", `AAA.USER.ATTRIBUTE("scopes").TYPECAST_LIST_T(',').GET(1).EQ("write")`, true},
		{"ATTRIBUTE of a number claim", `AAA.USER.ATTRIBUTE("level").TYPECAST_NUM_T.GE(3)`, true},
		{"ATTRIBUTE of a boolean claim", `AAA.USER.ATTRIBUTE("verified").EQ("true")`, true},
		{"ATTRIBUTE of a missing claim is empty", `AAA.USER.ATTRIBUTE("missing").LENGTH.EQ(0)`, true},
		{"ATTRIBUTE(n) names the OAuth action's n-th attribute", `AAA.USER.ATTRIBUTE(1).EQ("platform")`, true},
		{"HTTP.REQ.USER is an alias", `HTTP.REQ.USER.IS_MEMBER_OF("admin") && http.req.user.name.contains("@")`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalBool(t, tt.expr, exprRequest()); got != tt.want {
				t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestWithoutAUserEveryUserExpressionIsEmptyOrFalse(t *testing.T) {
	req := exprRequest()
	req.User = nil
	for _, expr := range []string{
		`AAA.USER.IS_MEMBER_OF("admin")`,
		`AAA.USER.NAME.LENGTH.GT(0)`,
		`AAA.USER.GROUPS.LENGTH.GT(0)`,
		`AAA.USER.ATTRIBUTE("roles").LENGTH.GT(0)`,
	} {
		if evalBool(t, expr, req) {
			t.Errorf("%s is true without a user", expr)
		}
	}
}

func TestTextExpressions(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"a literal", `"hello"`, "hello"},
		{"escapes", `"a\tb\x41\\"`, "a\tbA\\"},
		{"an unknown escape is kept", `"\d+"`, `\d+`},
		{"a q-string is verbatim", `q{a\"b}`, `a\"b`},
		{"concatenation", `"user=" + AAA.USER.NAME + ";"`, "user=Alice@Example.com;"},
		{"concatenation turns numbers and addresses into text", `CLIENT.IP.SRC + " " + HTTP.REQ.URL.PATH.LENGTH`, "10.1.2.3 17"},
		{"AFTER_STR", `HTTP.REQ.URL.PATH.AFTER_STR("/v1")`, "/Orders/42"},
		{"AFTER_STR without a match is empty", `HTTP.REQ.URL.PATH.AFTER_STR("/v9")`, ""},
		{"BEFORE_STR", `AAA.USER.NAME.BEFORE_STR("@")`, "Alice"},
		{"TO_LOWER", `AAA.USER.NAME.TO_LOWER`, "alice@example.com"},
		{"a number becomes text", `HTTP.REQ.URL.PATH.LENGTH`, "17"},
		{"TYPECAST_TEXT_T of a number", `HTTP.REQ.URL.PATH.LENGTH.TYPECAST_TEXT_T + "b"`, "17b"},
		{"an address becomes text", `CLIENT.IP.SRC`, "10.1.2.3"},
		{"GROUPS", `AAA.USER.GROUPS`, "eng-admins,Finance"},
		{"a list attribute", `AAA.USER.ATTRIBUTE("roles")`, "admin,auditor"},
		{"ATTRIBUTE(2)", `AAA.USER.ATTRIBUTE(2)`, "admin,auditor"},
		{"HEADER.VALUE(0) is the last instance", `HTTP.REQ.HEADER("X-Multi").VALUE(0)`, "second, third"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalText(t, tt.expr, exprRequest()); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestPortDefaultsByScheme(t *testing.T) {
	req := exprRequest()
	req.HTTP.Host = "shop.example.com"
	if !evalBool(t, `HTTP.REQ.HOSTNAME.PORT.EQ(80)`, req) {
		t.Error("a plain HTTP request without a port should be on 80")
	}
	req.HTTP.TLS = &tls.ConnectionState{}
	if !evalBool(t, `HTTP.REQ.HOSTNAME.PORT.EQ(443)`, req) {
		t.Error("a TLS request without a port should be on 443")
	}
}

func TestAnAbsoluteRequestURIIsReducedToThePath(t *testing.T) {
	req := exprRequest()
	req.HTTP.RequestURI = "http://shop.example.com/a/b?c=d"
	if got := evalText(t, `HTTP.REQ.URL.PATH + "|" + HTTP.REQ.URL.QUERY`, req); got != "/a/b|c=d" {
		t.Errorf("got %q", got)
	}
}

func TestANonNumberMakesThePolicyUndefined(t *testing.T) {
	e := &env{limits: map[string]*limiter{}}
	fn, err := compileBool(`HTTP.REQ.HEADER("Accept").TYPECAST_NUM_T.GT(1)`, e)
	if err != nil {
		t.Fatal(err)
	}
	c := &evalCtx{req: exprRequest()}
	fn(c)
	if !strings.Contains(c.undef, `TYPECAST_NUM_T: "text/html, application/json" is not a number`) {
		t.Errorf("undef = %q", c.undef)
	}
}

func TestCompileErrorsSayWhatAndWhere(t *testing.T) {
	tests := []struct {
		name string
		expr string
		off  int
		want string
	}{
		{"an empty rule", ``, 0, "empty expression"},
		{"an unclosed string", `HTTP.REQ.URL.EQ("abc)`, 16, "string is not closed"},
		{"an unclosed parenthesis", `(true && false`, 14, `expected ")" to close the "(" opened earlier`},
		{"an unclosed argument list", `HTTP.REQ.URL.EQ("a"`, 19, `expected ")" to close the arguments of EQ`},
		{"a single ampersand", `true & false`, 5, `"&" is not an operator: write "&&"`},
		{"a single bar", `true | false`, 5, `"|" is not an operator: write "||"`},
		{"an unknown root", `HTTPS.REQ.URL`, 0, `unknown name "HTTPS"`},
		{"an unknown property", `HTTP.REQ.PATH.EQ("/")`, 9, `HTTP.REQ has no property "PATH"`},
		{"a typo in a function", `HTTP.REQ.URL.STARTSWTIH("/")`, 13, `(did you mean STARTSWITH?)`},
		{"a namespace as a value", `HTTP.REQ`, 0, "HTTP.REQ is not a value: add a property"},
		{"text as a rule", `HTTP.REQ.URL`, 0, "a rule must be true or false, but HTTP.REQ.URL is text"},
		{"a number argument where text is wanted", `HTTP.REQ.URL.EQ(5)`, 16, "expected text as the argument of EQ, but 5 is a number"},
		{"a missing argument", `HTTP.REQ.URL.EQ()`, 13, `EQ needs 1 argument, as in EQ("text")`},
		{"arguments where none belong", `HTTP.REQ.URL.LENGTH(3).GT(1)`, 13, "LENGTH takes no arguments"},
		{"! on text", `!HTTP.REQ.URL`, 1, `expected a boolean after "!"`},
		{"&& on text", `HTTP.REQ.URL && true`, 0, "expected a boolean on the left of &&"},
		{"+ of a boolean", `"a" + true`, 4, `"+" joins texts, numbers and addresses, not text and a boolean`},
		{"+ of two booleans", `true + true`, 5, `"+" joins texts or adds numbers, not a boolean and a boolean`},
		{"a bad regex", `HTTP.REQ.URL.REGEX_MATCH(re#(a#)`, 25, "bad regular expression re#(a#: missing closing )"},
		{"a regex with back-references", `HTTP.REQ.URL.REGEX_MATCH(re#(a)\1#)`, 25, "invalid escape sequence"},
		{"a regex outside REGEX_MATCH", `HTTP.REQ.URL.EQ(re#a#)`, 16, "a regular expression can only be the argument of REGEX_MATCH"},
		{"REGEX_MATCH with a string", `HTTP.REQ.URL.REGEX_MATCH("a")`, 25, "REGEX_MATCH takes a regular expression written re#...#"},
		{"an unclosed q-string", `HTTP.REQ.URL.EQ(q{abc)`, 16, "q{ is not closed: add \"}\""},
		{"a bad subnet", `CLIENT.IP.SRC.IN_SUBNET("10.0.0.0/33")`, 24, `"10.0.0.0/33" is not a subnet`},
		{"a bad text mode", `HTTP.REQ.URL.SET_TEXT_MODE(UPPER)`, 27, "SET_TEXT_MODE takes one of IGNORECASE, NOIGNORECASE, URLENCODED, NOURLENCODED, PLUSASSPACE, NOPLUSASSPACE, PLUS_AS_SPACE, NO_PLUS_AS_SPACE, not UPPER"},
		{"an unknown limit", `SYS.CHECK_LIMIT("nope")`, 16, `no limit identifier "nope"`},
		{"HTTP.RES", `HTTP.RES.STATUS.EQ(200)`, 5, "HTTP.RES is not emulated"},
		{"ATTRIBUTE beyond the OAuth attributes", `AAA.USER.ATTRIBUTE(3).EQ("x")`, 19, "ATTRIBUTE(3) needs at least 3 names"},
		{"a variable BODY length", `HTTP.REQ.BODY(HTTP.REQ.URL.LENGTH).EQ("x")`, 14, "BODY takes a fixed positive length"},
		{"trailing garbage", `true true`, 5, `unexpected "true" after a complete expression`},
		{"a dangling dot", `HTTP.REQ.`, 9, "expected a function or property name"},
		{"a malformed number", `HTTP.REQ.URL.LENGTH.GT(12abc)`, 23, `malformed number "12a"`},
		{"an expression that is too long", strings.Repeat("true && ", 200) + "true", 1499, "the ADC allows at most 1499"},
		{"nesting too deep", strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200), 0, "nests deeper than 100 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{limits: map[string]*limiter{"api": {name: "api"}}, oauthAttrs: []string{"a", "b"}}
			_, err := compileBool(tt.expr, e)
			ee, ok := err.(*exprError)
			if !ok {
				t.Fatalf("%s: want an expression error, got %v", tt.expr, err)
			}
			if !strings.Contains(ee.msg, tt.want) {
				t.Errorf("%s: message %q lacks %q", tt.expr, ee.msg, tt.want)
			}
			if tt.name != "nesting too deep" && ee.off != tt.off {
				t.Errorf("%s: error at offset %d, want %d (%s)", tt.expr, ee.off, tt.off, ee.msg)
			}
		})
	}
}

func TestRateLimitCountsPerSelectorValueWithinATimeSlice(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := compileNSConf(t, `
add stream selector by_ip CLIENT.IP.SRC
add ns limitIdentifier two_per_second -threshold 2 -timeSlice 1000 -mode REQUEST_RATE -selectorName by_ip
add responder action slow respondwith "\"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\r\nslow down\""
add responder policy limit "SYS.CHECK_LIMIT(\"two_per_second\")" slow
bind responder global limit 10 END -type REQ_DEFAULT
`, WithNow(clock))
	from := func(ip string) *Request {
		r := newRequest("GET", "/", nil)
		r.ClientIP = netip.MustParseAddr(ip)
		return r
	}
	status := func(ip string) int {
		var res Result
		e.Evaluate(from(ip), &res)
		if res.Response == nil {
			return 0
		}
		return res.Response.Status
	}
	steps := []struct {
		advance time.Duration
		ip      string
		want    int
	}{
		{0, "192.0.2.1", 0},
		{100 * time.Millisecond, "192.0.2.1", 0},
		{100 * time.Millisecond, "192.0.2.1", 429},
		{0, "192.0.2.2", 0}, // another client has its own budget
		{0, "192.0.2.1", 429},
		{800 * time.Millisecond, "192.0.2.1", 0}, // a new time slice
		{0, "192.0.2.1", 0},
		{0, "192.0.2.1", 429},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := status(s.ip); got != s.want {
			t.Fatalf("step %d (%s): status %d, want %d", i, s.ip, got, s.want)
		}
	}
	var res Result
	e.Evaluate(from("192.0.2.9"), &res)
	e.Evaluate(from("192.0.2.9"), &res)
	e.Evaluate(from("192.0.2.9"), &res)
	r := res.Response
	if r == nil || r.Header.Get("Retry-After") != "1" || r.Body != "slow down" || res.Policy != "limit" {
		t.Fatalf("the 429 answer is %+v (policy %q)", r, res.Policy)
	}
}

func TestRateLimitIsSafeForConcurrentRequests(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	e := compileNSConf(t, `
add ns limitIdentifier hundred -threshold 100 -timeSlice 60000
add responder policy limit "SYS.CHECK_LIMIT(\"hundred\")" DROP
bind responder global limit 10 END
`, WithNow(func() time.Time { return now }))
	const workers, each = 8, 50
	dropped := make(chan int, workers)
	for w := 0; w < workers; w++ {
		go func() {
			n := 0
			var res Result
			for i := 0; i < each; i++ {
				e.Evaluate(newRequest("GET", "/", nil), &res)
				if res.Response != nil && res.Response.Drop {
					n++
				}
			}
			dropped <- n
		}()
	}
	total := 0
	for w := 0; w < workers; w++ {
		total += <-dropped
	}
	if total != workers*each-100 {
		t.Fatalf("%d requests dropped, want exactly %d", total, workers*each-100)
	}
}
