package adc

import "github.com/authdev/authdev/config"

type nsconf struct{}

func (s *session) loadNSConf(path string) {
	s.fail(config.Pos{File: path}, "ns.conf support is not finished yet")
}

func (n *nsconf) link(s *session) {}

type responderAction struct{}

func (a *responderAction) respond(c *evalCtx) *Response { return nil }

type rewriteAction struct{}

func (a *rewriteAction) apply(c *evalCtx, res *Result) {}

type sessionAction struct{ defaultAuthz string }

// Info describes a compiled ns.conf for `authdev adc check`.
type Info struct{}
