package logtohttp

import (
	"strings"
	"sync"
	"time"

	"github.com/gologto/logto/internal/ttlcache"
)

// openedCacheBytes bounds the memory of a CookieSessions' cache of
// decrypted sessions.
const openedCacheBytes = 8 << 20

// openedCache remembers the sessions of recently seen cookie values, so
// that a browser's next requests skip base64, AES-GCM and inflate: a
// protected request costs about 2 µs with it and 30 µs without (see
// BenchmarkProtectedRequest and BenchmarkCookieOpen). It is keyed by the
// first chunk's exact text (authenticated when it was first decrypted, or
// produced by this process), and holds each session until the expiry
// sealed in it. A session takes about twice its cookie bytes (the text
// and the decrypted values); the cache holds openedCacheBytes / (2 ×
// MaxBytes) of them, and none larger than 2 × MaxBytes (a session written
// over its budget is decrypted on every request). When full, the session
// that expires soonest, the least recently written, makes room.
type openedCache struct {
	sessions *ttlcache.Cache[string, *openedEntry]
	maxSize  int // of one session
}

func newOpenedCache(maxBytes int) openedCache {
	return openedCache{
		sessions: ttlcache.New[string, *openedEntry](openedCacheBytes / (2 * maxBytes)),
		maxSize:  2 * maxBytes,
	}
}

// openedEntry is one decrypted session.
type openedEntry struct {
	rest   []string // the values of chunks 1..n-1
	values map[string]string

	identOnce sync.Once
	ident     sessionIdent
}

// identity returns who the session belongs to, read once.
func (e *openedEntry) identity() sessionIdent {
	e.identOnce.Do(func() { e.ident = identOf(e.values) })
	return e.ident
}

// get returns the entry of the count chunks a request carried, or nil.
func (oc *openedCache) get(vals *[maxChunks]string, count int, now time.Time) *openedEntry {
	e, ok := oc.sessions.Get(vals[0], now)
	if !ok || len(e.rest) != count-1 {
		return nil
	}
	for i, v := range e.rest {
		if vals[i+1] != v {
			return nil
		}
	}
	return e
}

// put remembers values as the session of chunks until expires, and
// returns its entry; a session too large is returned without being kept.
func (oc *openedCache) put(chunks []string, values map[string]string, expires, now time.Time) *openedEntry {
	e := &openedEntry{values: values}
	size := 0
	for _, v := range chunks {
		size += 2 * len(v)
	}
	if size > oc.maxSize {
		return e
	}
	// Copies: the values may be slices of a request's whole Cookie header.
	for _, v := range chunks[1:] {
		e.rest = append(e.rest, strings.Clone(v))
	}
	oc.sessions.Put(strings.Clone(chunks[0]), e, expires, now)
	return e
}
