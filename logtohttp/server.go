package logtohttp

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gologto/logto"
)

// SessionRecord is one server-side session as a SessionStore keeps it.
type SessionRecord struct {
	// Values are the session's keys and values: the SDK's storage keys
	// (logto.StorageKeyIDToken, …) and this package's own. Stores and
	// ServerSessions treat the map as read-only once stored.
	Values map[string]string
	// Subject is the sub claim of the signed-in user, "" when signed out,
	// so that a store can find a user's sessions (back-channel logout,
	// "sign out everywhere").
	Subject string
	// SID is the sid claim of the user's ID token (Logto's session id),
	// when it has one.
	SID string
	// Version is set by a SharedSessionStore's Get: it changes at every
	// write of the record (see SharedSessionStore). Other stores leave it
	// zero, and ServerSessions ignores it when writing.
	Version uint64
}

// SessionStore keeps server-side sessions by id. The ids it receives are
// SHA-256 digests of the cookie values (43 characters of base64url), so
// the store's contents never contain a usable cookie. Implementations must
// be safe for concurrent use.
type SessionStore interface {
	// Get returns the live record stored under id; ok is false when there
	// is none, or it expired.
	Get(ctx context.Context, id string) (rec SessionRecord, ok bool, err error)
	// Set stores rec under id, to expire ttl from now.
	Set(ctx context.Context, id string, rec SessionRecord, ttl time.Duration) error
	// Delete removes id's record; deleting a missing id is not an error.
	Delete(ctx context.Context, id string) error
}

// UserSessionDeleter is implemented by a SessionStore that can delete the
// sessions of a user, as back-channel logout needs. MemorySessionStore
// implements it.
type UserSessionDeleter interface {
	// DeleteUserSessions deletes the records whose Subject is subject and,
	// when sid is not empty, whose SID is sid (subject may then be empty).
	// It returns how many it deleted.
	DeleteUserSessions(ctx context.Context, subject, sid string) (int, error)
}

// ServerSessions keeps sessions in a SessionStore; the cookie carries only
// a random session id (256 bits). Session ids are created by the server
// only (an unknown id from a cookie is never adopted), renewed after each
// sign-in (no session fixation) and deleted at sign-out. Pending sign-ins
// are not kept in the store but in a short-lived sealed cookie of their
// own (Name_pending), so that anonymous visitors create no record: a
// flood of sign-in requests cannot fill the store nor push out anyone's
// pending sign-in.
type ServerSessions struct {
	store   SessionStore
	shared  SharedSessionStore // store, when it coordinates instances
	opts    CookieOptions
	names   cookieNames
	pending *CookieSessions
}

// NewServerSessions returns server-side sessions kept in store. Of opts,
// Name, MaxAge (the store TTL, counted from the last change) and Secure
// apply, and Keys seal the cookie of pending sign-ins: they are required
// unless store is a *MemorySessionStore, whose sessions stay in one
// process anyway (a random key is then made).
func NewServerSessions(store SessionStore, opts CookieOptions) (*ServerSessions, error) {
	if store == nil {
		return nil, errors.New("logtohttp: NewServerSessions needs a SessionStore (e.g. NewMemorySessionStore)")
	}
	opts, err := opts.normalize(DefaultServerSessionName)
	if err != nil {
		return nil, err
	}
	pendingOpts := CookieOptions{Name: opts.Name + "_pending", Keys: opts.Keys, MaxAge: pendingTTL, Secure: opts.Secure}
	if len(pendingOpts.Keys) == 0 {
		if _, ok := store.(*MemorySessionStore); !ok {
			return nil, fmt.Errorf("logtohttp: NewServerSessions with a %T needs CookieOptions.Keys, shared by every instance: "+
				"pending sign-ins are sealed in a cookie, not kept in the store", store)
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key) // never fails since Go 1.24
		pendingOpts.Keys = [][]byte{key}
	}
	pending, err := buildCookieSessions(pendingOpts)
	if err != nil {
		return nil, err
	}
	opts.Keys = nil
	shared, _ := store.(SharedSessionStore)
	return &ServerSessions{store: store, shared: shared, opts: opts, names: newCookieNames(opts.Name), pending: pending}, nil
}

// Store returns the SessionStore the sessions are kept in.
func (s *ServerSessions) Store() SessionStore { return s.store }

// EndUserSessions ends the sessions of the user subject, or only those
// bound to Logto's session sid when sid is not empty: the next request of
// those browsers is signed out. Its signature is that of a back-channel
// logout hook (backchannel.Config.OnLogout). The store must implement
// UserSessionDeleter. (CookieSessions.EndUserSessions is the same hook
// for cookie sessions, kept in each instance's memory.)
func (s *ServerSessions) EndUserSessions(ctx context.Context, subject, sid string) error {
	if subject == "" && sid == "" {
		return errors.New("logtohttp: EndUserSessions needs a subject or a sid")
	}
	d, ok := s.store.(UserSessionDeleter)
	if !ok {
		return fmt.Errorf("logtohttp: the session store %T cannot delete a user's sessions (implement UserSessionDeleter)", s.store)
	}
	if _, err := d.DeleteUserSessions(ctx, subject, sid); err != nil {
		return fmt.Errorf("%w: %w", errSessionStore, err)
	}
	return nil
}

// anonymousSessionTTL bounds the life of a server session without a
// signed-in user.
const anonymousSessionTTL = time.Hour

// pendingTTL is the life of the cookie of pending sign-ins, which expire
// after ten minutes (logto.DefaultTransactionTTL).
const pendingTTL = time.Hour

// pendingKey reports whether a session key belongs in the cookie of
// pending sign-ins rather than in the store.
func pendingKey(k string) bool {
	return k == logto.StorageKeySignInSession || k == storageKeyReturnTo
}

// sessionIDLen is the length of a session id: 32 random bytes in
// base64url.
const sessionIDLen = 43

func newSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// storeID is the digest under which a session id is stored.
func storeID(id string) string {
	var in [sessionIDLen]byte // ids are validated to this length
	sum := sha256.Sum256(in[:copy(in[:], id)])
	var out [sessionIDLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

func validSessionID(id string) bool {
	if len(id) != sessionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *ServerSessions) load(r *http.Request, secure bool) (loadedSession, error) {
	secure = s.opts.secure(secure)
	var vals, pvals [maxChunks]string
	found, pfound := scanPair(r, s.names.of(secure)[0], &vals, s.pending.names.of(secure)[0], &pvals)
	pending := s.pending.loadChunks(&pvals, pfound)
	st := loadedSession{values: pending.values, pendingPresent: pending.present, pendingInvalid: pending.invalid}
	if found&1 == 0 {
		return st, nil
	}
	st.present = 1
	id := vals[0]
	if !validSessionID(id) {
		st.invalid = true
		return st, nil
	}
	rec, ok, err := s.store.Get(r.Context(), storeID(id))
	if err != nil {
		// Keep the id so that a sign-out can still delete the record.
		st.id = id
		return st, fmt.Errorf("%w: %w", errSessionStore, err)
	}
	if !ok {
		st.invalid = true
		return st, nil
	}
	st.id, st.stored, st.version = id, rec.Values, rec.Version
	if len(st.values) == 0 {
		st.values = rec.Values
		return st, nil
	}
	// Signed in and signing in again: the record's values and the
	// cookie's pending sign-ins.
	merged := maps.Clone(rec.Values)
	for k, v := range pending.values {
		merged[k] = v
	}
	st.values = merged
	return st, nil
}

func (s *ServerSessions) save(w http.ResponseWriter, r *http.Request, prev *loadedSession, values map[string]string, opts saveOptions) error {
	// Finish the store writes even if the client went away meanwhile.
	ctx := context.WithoutCancel(r.Context())
	secure := s.opts.secure(opts.secure)
	name := s.names.of(secure)[0]
	hdr := w.Header()
	stored, pending := splitPending(values)
	if err := s.savePending(w, r, prev, pending, opts); err != nil {
		return err
	}
	if len(stored) == 0 {
		if prev.id != "" {
			if err := s.store.Delete(ctx, storeID(prev.id)); err != nil {
				return fmt.Errorf("%w: %w", errSessionStore, err)
			}
		}
		if prev.present&1 != 0 {
			hdr.Add("Set-Cookie", s.opts.cookie(name, "", -1, secure))
			markPrivate(hdr)
		}
		prev.id, prev.present, prev.invalid, prev.stored = "", 0, false, nil
		return nil
	}
	old, id := prev.id, prev.id
	if id != "" && !opts.renew && maps.Equal(stored, prev.stored) {
		if prev.rewritten {
			// Written under the refresh lock: the cookie's life starts
			// again with the record's.
			_, ttl := s.record(stored)
			hdr.Add("Set-Cookie", s.opts.cookie(name, id, int(ttl/time.Second), secure))
			markPrivate(hdr)
			prev.rewritten = false
		}
		return nil // only the pending sign-ins changed
	}
	if id == "" || opts.renew {
		id = newSessionID()
	}
	rec, ttl := s.record(stored)
	if s.shared != nil && id == old {
		// Written only over the version loaded, merged with what other
		// instances wrote meanwhile (sharedstore.go).
		written, version, gone, err := s.writeShared(ctx, storeID(id), prev.stored, stored, prev.version)
		if err != nil {
			return fmt.Errorf("%w: %w", errSessionStore, err)
		}
		if gone {
			// Ended elsewhere (sign-out, back-channel logout): not brought back.
			hdr.Add("Set-Cookie", s.opts.cookie(name, "", -1, secure))
			markPrivate(hdr)
			prev.id, prev.present, prev.invalid, prev.stored = "", 0, false, nil
			return nil
		}
		hdr.Add("Set-Cookie", s.opts.cookie(name, id, int(ttl/time.Second), secure))
		markPrivate(hdr)
		prev.stored, prev.version = written, version
		return nil
	}
	if err := s.store.Set(ctx, storeID(id), rec, ttl); err != nil {
		return fmt.Errorf("%w: %w", errSessionStore, err)
	}
	if old != "" && old != id {
		if err := s.store.Delete(ctx, storeID(old)); err != nil {
			return fmt.Errorf("%w: %w", errSessionStore, err)
		}
	}
	hdr.Add("Set-Cookie", s.opts.cookie(name, id, int(ttl/time.Second), secure))
	markPrivate(hdr)
	prev.id, prev.present, prev.invalid, prev.stored = id, 1, false, stored
	return nil
}

// record is the store record of the stored values, and its TTL.
func (s *ServerSessions) record(stored map[string]string) (SessionRecord, time.Duration) {
	rec := SessionRecord{Values: stored}
	rec.Subject, rec.SID = tokenSubject(stored[logto.StorageKeyIDToken])
	ttl := s.opts.MaxAge
	if rec.Subject == "" {
		ttl = min(ttl, anonymousSessionTTL)
	}
	return rec, ttl
}

// savePending writes the cookie of pending sign-ins when they changed.
func (s *ServerSessions) savePending(w http.ResponseWriter, r *http.Request, prev *loadedSession, pending map[string]string, opts saveOptions) error {
	before := loadedSession{present: prev.pendingPresent, invalid: prev.pendingInvalid}
	if len(pending) == 0 && before.present == 0 {
		return nil
	}
	if len(pending) > 0 && !before.invalid && maps.Equal(pending, pendingPart(prev.values)) {
		return nil
	}
	before.values = pendingPart(prev.values)
	err := s.pending.save(w, r, &before, pending, opts)
	if err != nil && !savedAnyway(err) {
		return fmt.Errorf("logtohttp: pending sign-ins: %w", err)
	}
	prev.pendingPresent, prev.pendingInvalid = before.present, before.invalid
	return nil
}

// splitPending separates the pending sign-ins from the values the store
// keeps; it does not copy values when it holds none.
func splitPending(values map[string]string) (stored, pending map[string]string) {
	if !hasPending(values) {
		return values, nil
	}
	stored = make(map[string]string, len(values))
	pending = make(map[string]string, 2)
	for k, v := range values {
		if pendingKey(k) {
			pending[k] = v
		} else {
			stored[k] = v
		}
	}
	return stored, pending
}

func hasPending(values map[string]string) bool {
	_, a := values[logto.StorageKeySignInSession]
	_, b := values[storageKeyReturnTo]
	return a || b
}

// pendingPart returns the pending sign-in values of values, nil if none.
func pendingPart(values map[string]string) map[string]string {
	if !hasPending(values) {
		return nil
	}
	_, p := splitPending(values)
	return p
}

// tokenSubject reads sub and sid from a stored ID token (verified when it
// was stored).
func tokenSubject(idToken string) (sub, sid string) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", ""
	}
	var c struct {
		Sub string `json:"sub"`
		SID string `json:"sid"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", ""
	}
	return c.Sub, c.SID
}

// DefaultMemorySessionEntries is the size bound of NewMemorySessionStore
// when maxEntries is not positive.
const DefaultMemorySessionEntries = 10000

// MemorySessionStore is a SessionStore in process memory, safe for
// concurrent use. Records expire after their TTL. Beyond maxEntries, the
// least recently written record is dropped, signed-out ones (pending
// sign-ins, whose Subject is empty) first, so that a flood of sign-in
// attempts cannot evict the sessions of signed-in users. Sessions do not
// survive a restart and are not shared between instances: use it for
// development and single-instance applications, or as a model for a Redis
// or SQL store.
type MemorySessionStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *memoryEntry
	locks   map[string]memoryLock    // refresh locks (memoryshared.go)
	// Least recently written first, for signed-out and signed-in records.
	anonymous, users list.List
}

type memoryEntry struct {
	id      string
	rec     SessionRecord // with its Version
	expires time.Time
	in      *list.List
}

// NewMemorySessionStore returns an empty store. A positive ttl caps the
// lifetime of every record (Set's ttl applies when shorter); maxEntries
// bounds the number of records (DefaultMemorySessionEntries when not
// positive).
func NewMemorySessionStore(ttl time.Duration, maxEntries int) *MemorySessionStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMemorySessionEntries
	}
	return &MemorySessionStore{ttl: ttl, max: maxEntries, now: time.Now, entries: make(map[string]*list.Element)}
}

// Get implements SessionStore.
func (m *MemorySessionStore) Get(ctx context.Context, id string) (SessionRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return SessionRecord{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[id]
	if !ok {
		return SessionRecord{}, false, nil
	}
	e := el.Value.(*memoryEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return SessionRecord{}, false, nil
	}
	return e.rec, true, nil
}

// Set implements SessionStore.
func (m *MemorySessionStore) Set(ctx context.Context, id string, rec SessionRecord, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ttl = m.capTTL(ttl)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(id, rec, ttl, m.versionLocked(id)+1)
	return nil
}

// setLocked stores rec under id with the given version and ttl (already
// capped).
func (m *MemorySessionStore) setLocked(id string, rec SessionRecord, ttl time.Duration, version uint64) {
	now := m.now()
	if el, ok := m.entries[id]; ok {
		m.remove(el)
	}
	// Drop expired records from the old ends, then the oldest if full.
	for _, l := range []*list.List{&m.anonymous, &m.users} {
		for el := l.Front(); el != nil && !now.Before(el.Value.(*memoryEntry).expires); el = l.Front() {
			m.remove(el)
		}
	}
	for len(m.entries) >= m.max {
		if m.anonymous.Len() > 0 {
			m.remove(m.anonymous.Front())
		} else {
			m.remove(m.users.Front())
		}
	}
	l := &m.anonymous
	if rec.Subject != "" {
		l = &m.users
	}
	rec.Version = version
	m.entries[id] = l.PushBack(&memoryEntry{id: id, rec: rec, expires: now.Add(ttl), in: l})
}

// Delete implements SessionStore.
func (m *MemorySessionStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[id]; ok {
		m.remove(el)
	}
	return nil
}

// DeleteUserSessions implements UserSessionDeleter. It scans every
// record.
func (m *MemorySessionStore) DeleteUserSessions(_ context.Context, subject, sid string) (int, error) {
	if subject == "" && sid == "" {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, el := range m.entries {
		rec := el.Value.(*memoryEntry).rec
		if rec.Subject == "" || (subject != "" && rec.Subject != subject) || (sid != "" && rec.SID != sid) {
			continue
		}
		m.remove(el)
		n++
	}
	return n, nil
}

// Len returns the number of records held, expired ones included until
// they are dropped.
func (m *MemorySessionStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *MemorySessionStore) remove(el *list.Element) {
	e := el.Value.(*memoryEntry)
	delete(m.entries, e.id)
	e.in.Remove(el)
}
