package state

import (
	"bytes"
	"sync"
)

// MemoryStore keeps values in memory: for tests and throwaway stacks such as
// `authdev test` with --state memory semantics.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *MemoryStore { return &MemoryStore{m: map[string][]byte{}} }

// Describe implements Store.
func (m *MemoryStore) Describe() string { return "memory" }

// Get implements Store.
func (m *MemoryStore) Get(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Set implements Store.
func (m *MemoryStore) Set(key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = bytes.Clone(value)
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}
