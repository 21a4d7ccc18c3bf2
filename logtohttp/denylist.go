package logtohttp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gologto/logto"
)

// storageKeySignedInAt holds when the session's user signed in (unix
// milliseconds), written by the callback: EndUserSessions ends the cookie
// sessions of a user that signed in before it was called.
const storageKeySignedInAt = "logtohttp.signedInAt"

// maxDenied bounds the sessions a CookieSessions remembers as ended.
const maxDenied = 100_000

// sessionIdent is who a session belongs to.
type sessionIdent struct {
	sub, sid string
	since    int64 // storageKeySignedInAt, 0 when unknown
}

// identOf reads the identity of a session's values.
func identOf(values map[string]string) sessionIdent {
	var id sessionIdent
	id.sub, id.sid = tokenSubject(values[logto.StorageKeyIDToken])
	id.since, _ = strconv.ParseInt(values[storageKeySignedInAt], 10, 64)
	return id
}

// denyList remembers the sessions EndUserSessions ended, each for the
// sessions' MaxAge: a cookie sealed before the call expires before its
// entry does.
type denyList struct {
	n     atomic.Int32 // live entries, read without the lock
	mu    sync.RWMutex
	sids  map[string]denial // by Logto session id
	subs  map[string]denial // by subject, for sessions signed in before at
	queue []denialKey       // oldest first, to drop expired entries
}

type denial struct {
	subject string // for sid entries: the subject it was given with, or ""
	at      int64  // unix ms: sessions signed in until then are ended
	expires int64  // unix ms
}

type denialKey struct {
	sid     bool
	key     string
	expires int64
}

// EndUserSessions ends the cookie sessions of the user subject, or only
// those bound to Logto's session sid when sid is not empty: their next
// request reads as signed out, and their cookies are cleared. Its
// signature is that of a back-channel logout hook
// (backchannel.Config.OnLogout).
//
// A cookie session lives in the browser, so the list of ended sessions is
// kept by this CookieSessions, in memory, for MaxAge (no cookie sealed
// before the call outlives it), up to 100,000 entries (beyond, an error
// asks Logto to deliver the logout again later). With subject only, the
// sessions of that user signed in up to now end; sessions from before
// this package recorded sign-in times end too. Each instance of the
// application keeps its own list: deliver the logout to every instance,
// or use server sessions with a shared store.
func (c *CookieSessions) EndUserSessions(_ context.Context, subject, sid string) error {
	if subject == "" && sid == "" {
		return errors.New("logtohttp: EndUserSessions needs a subject or a sid")
	}
	now := c.now()
	return c.denied.add(subject, sid, now.UnixMilli(), now.Add(c.opts.MaxAge).UnixMilli())
}

func (d *denyList) add(subject, sid string, now, expires int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropExpired(now)
	if len(d.queue) >= maxDenied {
		return fmt.Errorf("logtohttp: %d cookie sessions are ended already; try again later", len(d.queue))
	}
	if d.sids == nil {
		d.sids, d.subs = make(map[string]denial), make(map[string]denial)
	}
	m, key := d.subs, subject
	if sid != "" {
		m, key = d.sids, sid
	}
	m[key] = denial{subject: subject, at: now, expires: expires}
	d.queue = append(d.queue, denialKey{sid: sid != "", key: key, expires: expires})
	d.n.Store(int32(len(d.queue)))
	return nil
}

// dropExpired removes the entries whose time is over.
func (d *denyList) dropExpired(now int64) {
	i := 0
	for ; i < len(d.queue) && d.queue[i].expires <= now; i++ {
		k := d.queue[i]
		m := d.subs
		if k.sid {
			m = d.sids
		}
		// A later denial of the same key replaced the entry: keep it.
		if e, ok := m[k.key]; ok && e.expires <= now {
			delete(m, k.key)
		}
	}
	d.queue = d.queue[i:]
}

// denies reports whether the session of e was ended. It costs one atomic
// load while nothing was ended.
func (d *denyList) denies(e *openedEntry) bool {
	if d.n.Load() == 0 {
		return false
	}
	id := e.identity()
	if id.sub == "" {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	// Expired entries cannot match a live cookie: it was sealed after.
	if id.sid != "" {
		if x, ok := d.sids[id.sid]; ok && (x.subject == "" || x.subject == id.sub) {
			return true
		}
	}
	x, ok := d.subs[id.sub]
	return ok && id.since <= x.at
}
