package adc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AAA.USER, SYS.CHECK_LIMIT and SYS.TIME.

func aaaUserProps() map[string]funcSpec {
	return map[string]funcSpec{
		"NAME": textProp("", func(e *evalCtx) string {
			if e.req.User == nil {
				return ""
			}
			return e.req.User.Name
		}),
		// The IdP's groups are the ADC's external groups; authdev has no
		// internal ones, so both are the same list.
		"GROUPS":          userGroups,
		"EXTERNAL_GROUPS": userGroups,
		"IS_MEMBER_OF":    isMemberOf,
		"ATTRIBUTE":       userAttribute,
	}
}

// aaaLoginProps are AAA.LOGIN: the RelayState of a SAML login, which a
// samlAction's -relaystateRule checks.
func aaaLoginProps() map[string]funcSpec {
	return map[string]funcSpec{
		"RELAYSTATE": textProp("", func(e *evalCtx) string { return e.req.RelayState }),
	}
}

func userGroups(c *compiler, recv val, n *node) (val, error) {
	return val{ty: tyList, sep: ",", text: func(e *evalCtx) string {
		if e.req.User == nil {
			return ""
		}
		return e.joinList(e.req.User.Groups)
	}}, c.noArgs(n)
}

func isMemberOf(c *compiler, recv val, n *node) (val, error) {
	a, err := c.oneTextArg(n, "IS_MEMBER_OF(\"admins\")")
	if err != nil {
		return val{}, err
	}
	g := a.text
	return val{ty: tyBool, pred: func(e *evalCtx) bool { return isMember(e.req.User, g(e)) }}, nil
}

func userAttribute(c *compiler, recv val, n *node) (val, error) {
	if err := c.argc(n, 1, "ATTRIBUTE(\"department\")"); err != nil {
		return val{}, err
	}
	a, err := c.compile(n.args[0])
	if err != nil {
		return val{}, err
	}
	switch {
	case a.ty == tyText && a.isConst:
		claim := a.strConst
		return val{ty: tyText, text: func(e *evalCtx) string { return attribute(e, claim) }}, nil
	case a.ty == tyNum && a.isConst:
		return numberedAttribute(c, n, a.numConst)
	}
	return val{}, errAt(n.args[0].pos, "ATTRIBUTE takes a claim name in quotes, as in ATTRIBUTE(\"department\")")
}

// numberedAttribute is ATTRIBUTE(i): the i-th name of the -attribute1..16
// and -Attributes of the samlAction that logged the user in, else of the
// OAuth action's -Attributes (or the first samlAction's). A number no
// action lists that many names for is an error; one the user's action
// lists fewer for is empty, an attribute the ADC did not keep.
func numberedAttribute(c *compiler, n *node, i int64) (val, error) {
	if i < 1 || i > 16 {
		return val{}, errAt(n.args[0].pos, "ATTRIBUTE takes a claim name or a number from 1 to 16")
	}
	nth := func(names []string) string {
		if int(i) > len(names) {
			return ""
		}
		return names[i-1]
	}
	claim, most := nth(c.env.oauthAttrs), len(c.env.oauthAttrs)
	byAction := make(map[string]string, len(c.env.samlAttrs))
	for name, attrs := range c.env.samlAttrs {
		byAction[name], most = nth(attrs), max(most, len(attrs))
	}
	if int(i) > most {
		return val{}, errAt(n.args[0].pos, "ATTRIBUTE(%d) needs at least %d names in the OAuth action's -Attributes (or a samlAction's -attribute1..16); the most any lists is %d", i, i, most)
	}
	return val{ty: tyText, text: func(e *evalCtx) string {
		name := claim
		if u := e.req.User; u != nil && u.SAMLAction != "" {
			if own, ok := byAction[u.SAMLAction]; ok {
				name = own
			}
		}
		if name == "" {
			return ""
		}
		return attribute(e, name)
	}}, nil
}

func sysProps() map[string]funcSpec {
	return map[string]funcSpec{
		"CHECK_LIMIT": checkLimit,
		"TIME":        ns("time"),
	}
}

func checkLimit(c *compiler, recv val, n *node) (val, error) {
	name, err := c.constTextArg(n, "CHECK_LIMIT(\"api_limit\")", "a limit identifier's name in quotes")
	if err != nil {
		return val{}, err
	}
	l, ok := c.env.limits[name]
	if !ok {
		return val{}, errAt(n.args[0].pos, "no limit identifier %q: add `add ns limitIdentifier %s -threshold 10 -timeSlice 1000 -selectorName SEL` to ns.conf%s", name, name, didYouMean(name, mapKeys(c.env.limits)))
	}
	return val{ty: tyBool, pred: l.check}, nil
}

// timeSpec is a date as SYS.TIME's functions take it: GMT or LOCAL, then
// any of year, month, day, hours, minutes and seconds. Only the fields
// written take part in a comparison.
type timeSpec struct {
	loc    *time.Location
	fields [6]int  // year, month, day, hour, minute, second
	has    [6]bool // which fields were written
}

func timeProps() map[string]funcSpec {
	return map[string]funcSpec{
		"BETWEEN": timeRange(func(now, a, b *timeSpec) bool { return cmpTime(now, a) >= 0 && cmpTime(now, b) <= 0 }),
		"WITHIN":  timeRange(within),
		"EQ":      timeCompare(func(c int) bool { return c == 0 }),
		"GT":      timeCompare(func(c int) bool { return c > 0 }),
		"LT":      timeCompare(func(c int) bool { return c < 0 }),
		"GE":      timeCompare(func(c int) bool { return c >= 0 }),
		"LE":      timeCompare(func(c int) bool { return c <= 0 }),
		"YEAR":    timeField(func(t time.Time) int { return t.Year() }),
		"MONTH":   timeField(func(t time.Time) int { return int(t.Month()) }),
		"DAY":     timeField(func(t time.Time) int { return t.Day() }),
		"HOURS":   timeField(func(t time.Time) int { return t.Hour() }),
		"MINUTES": timeField(func(t time.Time) int { return t.Minute() }),
		"SECONDS": timeField(func(t time.Time) int { return t.Second() }),
		"WEEKDAY": timeField(func(t time.Time) int { return int(t.Weekday()) }),
	}
}

// timeField is SYS.TIME.HOURS and the like, in GMT.
func timeField(get func(time.Time) int) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		now := c.env.now
		return val{ty: tyNum, num: func(*evalCtx) int64 { return int64(get(now().UTC())) }}, c.noArgs(n)
	}
}

func timeCompare(ok func(int) bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		specs, err := c.timeArgs(n, 1)
		if err != nil {
			return val{}, err
		}
		now, t := c.env.now, specs[0]
		return val{ty: tyBool, pred: func(*evalCtx) bool { n := nowSpec(now(), &t); return ok(cmpTime(&n, &t)) }}, nil
	}
}

func timeRange(in func(now, a, b *timeSpec) bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		specs, err := c.timeArgs(n, 2)
		if err != nil {
			return val{}, err
		}
		a, b := specs[0], specs[1]
		if a.loc != b.loc {
			return val{}, errAt(n.args[1].pos, "%s needs both dates in GMT or both in LOCAL", n.raw)
		}
		now := c.env.now
		return val{ty: tyBool, pred: func(*evalCtx) bool { t := nowSpec(now(), &a); return in(&t, &a, &b) }}, nil
	}
}

// within: every field written must lie in its range, as WITHIN(LOCAL 09h,
// LOCAL 17h) holds from 9:00 to 17:59 every day.
func within(now, a, b *timeSpec) bool {
	for i := range now.fields {
		if a.has[i] && (now.fields[i] < a.fields[i] || now.fields[i] > b.fields[i]) {
			return false
		}
	}
	return true
}

// nowSpec is the current time in the zone of t, every field present.
func nowSpec(now time.Time, t *timeSpec) timeSpec {
	n := now.In(t.loc)
	return timeSpec{loc: t.loc, fields: [6]int{n.Year(), int(n.Month()), n.Day(), n.Hour(), n.Minute(), n.Second()},
		has: [6]bool{true, true, true, true, true, true}}
}

// cmpTime compares now with t on the fields t writes, the larger first.
func cmpTime(now, t *timeSpec) int {
	for i := range t.fields {
		if !t.has[i] {
			continue
		}
		switch {
		case now.fields[i] < t.fields[i]:
			return -1
		case now.fields[i] > t.fields[i]:
			return 1
		}
	}
	return 0
}

func (c *compiler) timeArgs(n *node, want int) ([]timeSpec, error) {
	if !n.parens || len(n.args) != want {
		return nil, errAt(n.tok.pos, "%s needs %s, as in %s(GMT 2024 Jan 1%s)", n.raw, plural(want, "date"), n.raw, strings.Repeat(", GMT 2024 Dec 31", want-1))
	}
	var specs []timeSpec
	for _, a := range n.args {
		if a.kind != nLit || a.tok.kind != tRaw {
			return nil, errAt(a.pos, "%s takes dates such as GMT 2024 Jan 10_10h or LOCAL 08h", n.raw)
		}
		t, err := parseTimeSpec(a.tok.val)
		if errors.Is(err, errWeekdayOfMonth) {
			return nil, notEmulatedAt(a.pos, "SYS.TIME."+n.raw+" with a weekday of the month ("+a.tok.val+")")
		}
		if err != nil {
			return nil, errAt(a.pos, "%v", err)
		}
		specs = append(specs, t)
	}
	return specs, nil
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

	// errWeekdayOfMonth: a date such as GMT 2005 May Sun_1 (the first
	// Sunday), valid on the ADC and not emulated.
	errWeekdayOfMonth = errors.New("a weekday of the month")
)

// parseTimeSpec reads GMT|LOCAL [yyyy] [month] [d] [h] [m] [s], the parts
// separated by spaces or "_", as in GMT 2004 Jan 10_10h_12m.
func parseTimeSpec(s string) (timeSpec, error) {
	words := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return r == ' ' || r == '_' || r == '\t' })
	t := timeSpec{loc: time.UTC}
	if len(words) == 0 || (words[0] != "GMT" && words[0] != "LOCAL") {
		return t, fmt.Errorf("date %q must start with GMT or LOCAL", s)
	}
	if words[0] == "LOCAL" {
		t.loc = time.Local
	}
	set := func(i, v int) { t.fields[i], t.has[i] = v, true }
	for _, w := range words[1:] {
		if m := slices.Index(monthNames, w); m >= 0 {
			set(1, m+1)
			continue
		}
		if slices.Contains(dayNames, w) {
			return t, errWeekdayOfMonth
		}
		unit := w[len(w)-1]
		num, err := strconv.Atoi(strings.TrimRight(w, "HMS"))
		switch {
		case err != nil:
			return t, fmt.Errorf("date %q: %q is not a year, a month (Jan), a day, or hours, minutes, seconds (10h, 30m, 15s)", s, w)
		case unit == 'H':
			set(3, num)
		case unit == 'M':
			set(4, num)
		case unit == 'S':
			set(5, num)
		case len(w) == 4:
			set(0, num)
		default:
			set(2, num)
		}
	}
	return t, nil
}
