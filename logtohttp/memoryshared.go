package logtohttp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// memoryLock is a held lock of a MemorySessionStore.
type memoryLock struct {
	token string
	until time.Time
}

// capTTL applies the store's TTL cap and default to a record's ttl.
func (m *MemorySessionStore) capTTL(ttl time.Duration) time.Duration {
	if m.ttl > 0 && (ttl <= 0 || m.ttl < ttl) {
		ttl = m.ttl
	}
	if ttl <= 0 {
		ttl = DefaultSessionMaxAge
	}
	return ttl
}

// versionLocked returns the version of id's live record, 0 when none.
func (m *MemorySessionStore) versionLocked(id string) uint64 {
	el, ok := m.entries[id]
	if !ok {
		return 0
	}
	e := el.Value.(*memoryEntry)
	if !m.now().Before(e.expires) {
		return 0
	}
	return e.rec.Version
}

// CompareAndSet implements SharedSessionStore.
func (m *MemorySessionStore) CompareAndSet(ctx context.Context, id string, version uint64, rec SessionRecord, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ttl = m.capTTL(ttl)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.versionLocked(id) != version {
		return false, nil
	}
	m.setLocked(id, rec, ttl, version+1)
	return true, nil
}

// lockPoll is how often a waiting Lock looks again.
const lockPoll = 2 * time.Millisecond

// Lock implements SharedSessionStore. Locks live beside the records; an
// expired one is replaced by the next Lock.
func (m *MemorySessionStore) Lock(ctx context.Context, id string, ttl time.Duration) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	token := base64.RawURLEncoding.EncodeToString(b[:])
	var t *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("logtohttp: wait for the lock of a session: %w", err)
		}
		m.mu.Lock()
		now := m.now()
		if l, held := m.locks[id]; !held || !now.Before(l.until) {
			if m.locks == nil {
				m.locks = make(map[string]memoryLock)
			}
			m.locks[id] = memoryLock{token: token, until: now.Add(ttl)}
			m.mu.Unlock()
			if t != nil {
				t.Stop()
			}
			return token, nil
		}
		m.mu.Unlock()
		if t == nil {
			t = time.NewTimer(lockPoll)
		} else {
			t.Reset(lockPoll)
		}
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// Extend implements SharedSessionStore.
func (m *MemorySessionStore) Extend(ctx context.Context, id, token string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, held := m.locks[id]
	if !held || l.token != token {
		return false, nil
	}
	m.locks[id] = memoryLock{token: token, until: m.now().Add(ttl)}
	return true, nil
}

// Unlock implements SharedSessionStore.
func (m *MemorySessionStore) Unlock(_ context.Context, id, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, held := m.locks[id]; held && l.token == token {
		delete(m.locks, id)
	}
	return nil
}
