package tui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/authdev/authdev/audit"
)

// fullModel is a model whose request history is full, as after a long day.
func fullModel(b *testing.B) *Model {
	m := New(newFakeStack(), Options{})
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	evs := make([]audit.Event, maxRequests)
	for i := range evs {
		evs[i] = detailedEvent()
		evs[i].Path = fmt.Sprintf("/items/%d", i)
	}
	m.Update(eventsMsg{events: evs})
	return m
}

// BenchmarkViewFullHistory is one frame with the request history full.
func BenchmarkViewFullHistory(b *testing.B) {
	m := fullModel(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkEventBurst is a burst of 256 requests (what one listen
// delivers) arriving while the history is full and a filter is set.
func BenchmarkEventBurst(b *testing.B) {
	m := fullModel(b)
	m.requests.setFilter("admin")
	burst := make([]audit.Event, 256)
	for i := range burst {
		burst[i] = detailedEvent()
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(eventsMsg{events: burst})
	}
}
