package adc

import (
	"errors"
	"slices"
	"strings"
)

// funcSpec compiles one function or property applied to a receiver, such
// as .CONTAINS("x") on text or .PATH on HTTP.REQ.URL.
type funcSpec func(c *compiler, recv val, n *node) (val, error)

// The language's dispatch: props are the properties of namespaces and
// objects, by the receiver's kind ("http.req", "url", "header"...);
// typeFuncs are the functions of each value type. To emulate another
// NetScaler function, add a row. A list is also its text, so text
// functions apply to lists. Filled by init: the specs refer back to the
// tables (through the compiler's messages).
var (
	props     map[string]map[string]funcSpec
	typeFuncs map[typ]map[string]funcSpec
)

func init() {
	props = map[string]map[string]funcSpec{
		"http":       httpProps(),
		"http.req":   httpReqProps(),
		"url":        urlProps(),
		"path":       pathProps(),
		"query":      queryProps(),
		"hostname":   hostnameProps(),
		"method":     methodProps(),
		"header":     headerProps(),
		"cookie":     cookieProps(),
		"client":     clientProps(),
		"client.ip":  clientIPProps(),
		"client.ssl": clientSSLProps(),
		"aaa":        aaaProps(),
		"aaa.user":   aaaUserProps(),
		"aaa.login":  aaaLoginProps(),
		"sys":        sysProps(),
		"time":       timeProps(),
	}
	typeFuncs = map[typ]map[string]funcSpec{
		tyText: textFuncs(),
		tyList: listFuncs(),
		tyNum:  numFuncs(),
		tyIP:   ipFuncs(),
		tyBool: boolFuncs(),
	}
}

// lookupFunc finds the spec for .NAME on recv.
func lookupFunc(recv val, name string) (funcSpec, bool) {
	if f, ok := props[recv.kind][name]; ok {
		return f, true
	}
	if f, ok := typeFuncs[recv.ty][name]; ok {
		return f, true
	}
	if recv.ty == tyList {
		f, ok := typeFuncs[tyText][name]
		return f, ok
	}
	return nil, false
}

// funcNames lists what may follow recv, for messages.
func funcNames(recv val) []string {
	var names []string
	for name := range props[recv.kind] {
		names = append(names, name)
	}
	for name := range typeFuncs[recv.ty] {
		names = append(names, name)
	}
	if recv.ty == tyList {
		for name := range typeFuncs[tyText] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// call applies .NAME or .NAME(args) to recv.
func (c *compiler) call(recv val, n *node) (val, error) {
	what := recv.what + "." + n.raw
	if n.parens {
		what += "(" + c.argsText(n) + ")"
	}
	spec, ok := lookupFunc(recv, n.name)
	if !ok {
		return val{}, c.unknownFunc(recv, n)
	}
	var v val
	var err error
	if recv.kind == "header" && everyInstance[n.name] {
		v, err = c.onEveryInstance(spec, recv, n)
	} else {
		v, err = spec(c, recv, n)
	}
	if err != nil {
		return val{}, err
	}
	v.what = what
	return v, nil
}

func (c *compiler) unknownFunc(recv val, n *node) error {
	// AAA.LOGIN's other properties (USERNAME, PASSWORD...) are valid on
	// the ADC and read only by authentication policies, not emulated.
	if notEmulatedNames[n.name] || recv.kind == "unemulated" || recv.kind == "aaa.login" {
		return notEmulatedAt(n.tok.pos, recv.what+"."+n.raw)
	}
	names := funcNames(recv)
	if recv.ty == tyNS {
		return errAt(n.tok.pos, "%s has no property %q: expected one of %s%s", recv.what, n.raw, strings.Join(names, ", "), didYouMean(n.name, names))
	}
	return errAt(n.tok.pos, "%s is %s, which has no function %q: expected one of %s%s", recv.what, recv.ty, n.raw, strings.Join(names, ", "), didYouMean(n.name, names))
}

// root compiles the first name of an expression: a namespace, a constant,
// or a named expression (add policy expression).
func (c *compiler) root(n *node) (val, error) {
	switch n.name {
	case "TRUE", "NS_TRUE":
		return constBool(true), c.noArgs(n)
	case "FALSE", "NS_FALSE":
		return constBool(false), c.noArgs(n)
	case "HTTP", "CLIENT", "AAA", "SYS":
		return val{ty: tyNS, kind: strings.ToLower(n.name), what: n.raw}, c.noArgs(n)
	}
	if ne, ok := c.env.named[n.name]; ok && !n.parens {
		v, err := c.env.namedValue(ne)
		if err != nil {
			var ee *exprError
			if errors.As(err, &ee) && ee.notEmulated {
				return val{}, notEmulatedAt(n.pos, ee.msg)
			}
			return val{}, errAt(n.pos, "policy expression %q does not compile: see its own line", ne.name)
		}
		v.what = n.raw
		return v, nil
	}
	if notEmulatedRoots[n.name] {
		return val{ty: tyNS, kind: "unemulated", what: n.raw}, nil
	}
	roots := []string{"HTTP", "CLIENT", "AAA", "SYS", "TRUE", "FALSE"}
	return val{}, errAt(n.pos, "unknown name %q: an expression starts with HTTP.REQ, CLIENT.IP.SRC, AAA.USER, SYS, true, false, a literal or the name of a policy expression%s", n.raw, didYouMean(n.name, roots))
}

// notEmulatedRoots start NetScaler expressions authdev does not emulate:
// valid on the appliance, so a rule using one loads and is UNDEF.
var notEmulatedRoots = map[string]bool{
	"SERVER": true, "TARGET": true, "TEXT": true, "ANALYTICS": true, "DNS": true, "SIP": true, "MSSQL": true,
	"MYSQL": true, "ORACLE": true, "DIAMETER": true, "RADIUS": true, "SMPP": true, "MQTT": true, "SUBSCRIBER": true,
	"ICA": true, "URL": true, "VPN": true, "EXTENDED": true, "LB": true, "CONNECTION": true, "HTTP2": true,
}

// notEmulatedNames are NetScaler functions and properties authdev does not
// emulate; any other unknown name is an error, as on the appliance.
var notEmulatedNames = setOf("RES", "SSL", "TCP", "UDP", "ETHER", "VLAN", "INTERFACE", "LOGIN", "HTTP_CALLOUT",
	"SUBSTR", "FULL_HEADER", "DATE", "CACHE_CONTROL", "VERSION", "TXID", "LB", "VSERVER", "XPATH", "XPATH_JSON",
	"XPATH_HTML", "JSON", "B64ENCODE", "B64DECODE", "URL_RESERVED_CHARS_SAFE", "HTML_XML_SAFE", "MARKUP_SAFE",
	"SQL_XSS", "CONTAINS_INDEX", "EXTRACT", "HASH", "SHA1", "SHA256", "SHA512", "MD5", "HMAC", "ENCRYPT", "DECRYPT",
	"TYPECAST_HTTP_HOSTNAME_T", "TYPECAST_IP_ADDRESS_T", "TYPECAST_IPV6_ADDRESS_T", "TYPECAST_NUM_AT",
	"TYPECAST_DOUBLE_T", "TYPECAST_TIME_T", "TYPECAST_NVLIST_T", "TYPECAST_HTTP_URL_T", "TYPECAST_UNSIGNED_LONG_AT",
	"TYPECAST_BOOLEAN_T", "PROTOCOL", "IS_DEFAULT", "GEO", "LOCATION", "MATCHES_LOCATION", "IS_IPV4", "IS_IPV6",
	"BEFORE_REGEX", "AFTER_REGEX", "REGEX_REPLACE", "REPLACE", "STRIP_CHARS", "STRIP_END_CHARS", "STRIP_START_CHARS",
	"SKIP", "PREFIX", "CHAR_AT", "TRACKING", "IS_NUMERIC", "EXISTS_ANY", "SUBNET", "GET1", "GET2", "GET3", "GET4",
	"MATCHES", "IS_TRUSTED", "DATE_HEADER", "LENGTH_DELIMITED", "APPFW", "BOT", "TRACE", "SET_COOKIE",
	"CONTENT_TYPE", "XML", "HTML", "RECAPTCHA", "CERT", "CIPHER", "IS_CLIENT_HELLO", "SERVERNAME",
	"CLIENT_HELLO", "CLIENTHELLO", "SNI", "SRC_PORT", "DSTPORT", "SRCPORT", "MSS", "RTT", "IS_SACKED",
	"ROUTE", "VARIABLE", "IS_ANY", "TO_HTML", "PLUS", "COMPONENT", "SPLIT", "CONCAT", "CACHE", "AUTH_STRENGTH",
	"DOMAIN_NAME", "USER_NAME", "PASSWORD", "ATTRIBUTES", "IS_VALID_JWT", "CLIENT_CERT", "ISSUER", "SUBJECT")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
