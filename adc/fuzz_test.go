package adc

import (
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/authdev/authdev/config"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are expressions of every shape the compiler knows.
var fuzzSeeds = append([]string{
	`true`, `!false && (true || false).NOT`, `HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")`,
	`HTTP.REQ.HEADER("X-A").SET_TEXT_MODE(IGNORECASE).EQ(q{a"b})`, `HTTP.REQ.URL.REGEX_MATCH(re#^/api/v[0-9]+/#)`,
	`CLIENT.IP.SRC.IN_SUBNET(10.0.0.0/8)`, `HTTP.REQ.URL.QUERY.TYPECAST_LIST_T('&').GET(1).AFTER_STR("=")`,
	`"a" + AAA.USER.ATTRIBUTE("roles") + "\x41\""`, `HTTP.REQ.BODY(64).CONTAINS("x")`, `HTTP.REQ.HEADER("N").TYPECAST_NUM_T.GT(3)`,
	`HTTP.REQ.METHOD.EQ(GET) || HTTP.REQ.HOSTNAME.PORT == 443`, `HTTP.REQ.COOKIE.VALUE("s").LENGTH - 2 >= 0`,
	`HTTP.REQ.URL.PATH.REGEX_MATCH(re/(a+)+$/)`, `((((true))))`, `HTTP.REQ.`, `"unclosed`, `q{`,
	`SYS.TIME.BETWEEN(GMT 2004 Jan 10_10h, LOCAL 2006)`, `SYS.TIME.WITHIN(LOCAL 09h, LOCAL 17h_30m)`,
	`HTTP.REQ.HEADER("N").AFTER_STR(",").HTTP_URL_SAFE`, `HTTP.REQ.URL.PATH.SET_TEXT_MODE(URLENCODED).DECODE_USING_TEXT_MODE`,
	`HTTP.REQ.URL.QUERY.GET_REVERSE(0).REGEX_SELECT(re#[0-9]+#)`, `HTTP.REQ.BODY(9).XPATH(xp%//a%)`,
}, benchPolicies...)

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e := &env{limits: map[string]*limiter{}, oauthAttrs: []string{"a"}}
		_, err := compileValue(src, e)
		if err == nil {
			return
		}
		ee, ok := err.(*exprError)
		if !ok {
			t.Fatalf("%q: error %T %v is not an expression error", src, err, err)
		}
		if ee.off < 0 || ee.off > len(src) {
			t.Fatalf("%q: error offset %d outside the expression", src, ee.off)
		}
		if ee.msg == "" || !utf8.ValidString(ee.msg) && utf8.ValidString(src) {
			t.Fatalf("%q: unusable message %q", src, ee.msg)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "/api/v1/orders?x=1", "Value, other", "eng-admins,admin")
	}
	f.Add(`HTTP.REQ.URL.PATH.REGEX_MATCH(re/(a+)+$/)`, "/"+strings.Repeat("a", 2000)+"!", "", "")
	f.Fuzz(func(t *testing.T, rule, target, header, groups string) {
		e := newEnv(map[string]*limiter{}, time.Now)
		e.oauthAttrs = []string{"roles"}
		v, err := compileValue(rule, e)
		if err != nil {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u = &url.URL{Path: "/"}
			target = "/"
		}
		r := &http.Request{Method: "GET", URL: u, RequestURI: target, Host: "example.com:8443",
			Header: http.Header{"X-A": {header}, "N": {header}, "Cookie": {header}}}
		gs := strings.Split(groups, ",")
		req := &Request{HTTP: r, ClientIP: netip.MustParseAddr("10.0.0.1"), Body: []byte(header),
			User: &User{Name: header, Groups: gs, Roles: gs, Attributes: map[string]any{"roles": gs, "x": []any{header, 1.5}}}}
		c := &evalCtx{req: req}
		switch v.ty {
		case tyBool:
			v.pred(c)
		case tyText, tyList:
			v.text(c)
		case tyNum:
			v.num(c)
		case tyIP:
			v.addr(c)
		}
	})
}

func FuzzNSConf(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "aaatm", "ns.conf"))
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(string(seed), "\n")
	for i := 0; i+4 <= len(lines); i += 4 {
		f.Add(strings.Join(lines[i:i+4], "\n"))
	}
	f.Add(string(seed))
	f.Add("add responder policy 'a b' q{true} NOOP\nbind responder global 'a b' 1 q\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg := &config.Config{Source: "authdev.yaml", Dir: "/cfg"}
		e := &Engine{now: time.Now, limits: map[string]*limiter{}}
		s := newSession(cfg, e)
		s.parseNSConf("/cfg/ns.conf", []byte(text))
		s.compileYAML()
		s.link()
		for _, p := range s.errs {
			if p.Pos.File == "" || p.Msg == "" {
				t.Fatalf("problem without a place or message: %+v", p)
			}
		}
		if len(s.errs) == 0 {
			var res Result
			e.Evaluate(newRequest("GET", "/orders/1", admin, "X-Debug", "1"), &res)
		}
	})
}
