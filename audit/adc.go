package audit

import "github.com/authdev/authdev/adc"

// PolicyResults converts the policy engine's trace into the audit trail's.
func PolicyResults(trace []adc.PolicyTrace) []PolicyResult {
	if len(trace) == 0 {
		return nil
	}
	out := make([]PolicyResult, len(trace))
	for i, t := range trace {
		out[i] = PolicyResult{Name: t.Name, Kind: t.Kind, Rule: t.Rule, Priority: t.Priority, Matched: t.Matched, Action: t.Action, Error: t.Error}
	}
	return out
}

// PolicyMessages converts what the ns.conf's audit message actions wrote.
func PolicyMessages(msgs []adc.AuditMessage) []PolicyMessage {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]PolicyMessage, len(msgs))
	for i, m := range msgs {
		out[i] = PolicyMessage(m)
	}
	return out
}
