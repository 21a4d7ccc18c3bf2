package logtohttp

import (
	"strings"
	"sync"
)

// openedCacheBytes bounds the memory of a CookieSessions' cache of
// decrypted sessions.
const openedCacheBytes = 8 << 20

// openedCache remembers the sessions of recently seen cookie values, so
// that a browser's next requests skip base64, AES-GCM and inflate (about
// 20 µs of the first request, against 2 µs for the next ones: see
// BenchmarkCookieOpen and BenchmarkProtectedRequest). It is keyed by the
// exact cookie text (authenticated when it was first decrypted, or
// produced by this process), and it keeps each session's expiry. Eviction
// is random once the byte bound is reached.
type openedCache struct {
	mu    sync.RWMutex
	m     map[string]*openedEntry // by the first chunk's value
	bytes int
}

// openedEntry is one decrypted session.
type openedEntry struct {
	rest    []string // the values of chunks 1..n-1
	values  map[string]string
	expires int64
	size    int

	identOnce sync.Once
	ident     sessionIdent
}

// identity returns who the session belongs to, read once.
func (e *openedEntry) identity() sessionIdent {
	e.identOnce.Do(func() { e.ident = identOf(e.values) })
	return e.ident
}

// get returns the entry of the chunks a request carried, or nil.
func (oc *openedCache) get(vals *[maxChunks]string, count int, now int64) *openedEntry {
	oc.mu.RLock()
	e := oc.m[vals[0]]
	oc.mu.RUnlock()
	if e == nil || e.expires <= now || len(e.rest) != count-1 {
		return nil
	}
	for i, v := range e.rest {
		if vals[i+1] != v {
			return nil
		}
	}
	return e
}

// put remembers values as the session of chunks and returns its entry;
// sessions too large for the cache are returned without being kept.
func (oc *openedCache) put(chunks []string, values map[string]string, expires int64) *openedEntry {
	e := &openedEntry{values: values, expires: expires}
	for _, v := range chunks {
		e.size += 2 * len(v) // the text, and about as much decoded
	}
	if e.size > openedCacheBytes/16 {
		return e
	}
	// Copies: the values may be slices of a request's whole Cookie header.
	key := strings.Clone(chunks[0])
	for _, v := range chunks[1:] {
		e.rest = append(e.rest, strings.Clone(v))
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if old := oc.m[key]; old != nil {
		oc.bytes -= old.size
	}
	for k, old := range oc.m {
		if oc.bytes+e.size <= openedCacheBytes {
			break
		}
		delete(oc.m, k)
		oc.bytes -= old.size
	}
	oc.m[key] = e
	oc.bytes += e.size
	return e
}
