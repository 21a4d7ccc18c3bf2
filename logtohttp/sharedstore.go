package logtohttp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gologto/logto"
)

// SharedSessionStore is a SessionStore that several instances of an
// application share (Redis, SQL) and that lets them coordinate. With one,
// ServerSessions
//
//   - write a session only over the version they loaded (CompareAndSet),
//     merging what another instance wrote meanwhile: a request that loaded
//     the session before another instance rotated its refresh token never
//     writes the older token back;
//   - offer the SDK the refresh lock of logto.RefreshLocker (Lock and
//     Unlock): across all instances one expired token causes one refresh
//     request, and an instance that waited for the lock uses the tokens
//     the winner stored.
//
// MemorySessionStore implements it (for tests of several handlers in one
// process); the modules github.com/gologto/logto/stores/redisstore and
// github.com/gologto/logto/stores/pgstore are implementations for Redis
// and PostgreSQL, and package storetest checks one.
type SharedSessionStore interface {
	SessionStore
	// CompareAndSet stores rec under id, to expire ttl from now, only if
	// the live record under id has Version version, or there is none and
	// version is 0. The record written has Version version+1. It reports
	// false, and changes nothing, when the record is another. Set, too,
	// gives a record a new version: one past the replaced record's, 1 when
	// there was none. rec.Version is ignored.
	CompareAndSet(ctx context.Context, id string, version uint64, rec SessionRecord, ttl time.Duration) (bool, error)
	// Lock takes the lock named id (the refresh lock of the session id),
	// for ttl at most, waiting while another holder has it until ctx is
	// done (the error then wraps ctx.Err()). It returns the token of this
	// hold, which Unlock needs.
	Lock(ctx context.Context, id string, ttl time.Duration) (token string, err error)
	// Extend makes the hold of token on lock id last ttl from now, and
	// reports false when token no longer holds it (taken by another
	// holder since it expired). A holder extends its lock while it works,
	// so that only a holder that died loses it.
	Extend(ctx context.Context, id, token string, ttl time.Duration) (bool, error)
	// Unlock releases the lock id if token still holds it; releasing a
	// lock that expired or was taken by another holder since is not an
	// error and leaves it alone.
	Unlock(ctx context.Context, id, token string) error
}

// DefaultRefreshLockTTL is how long the refresh lock of a session lasts
// after its holder last extended it (every third of it, while it works): a
// holder that died is replaced after at most this long, within Logto's 3 s
// refresh token reuse interval, so that the new holder's retry with the
// same refresh token is still accepted.
const DefaultRefreshLockTTL = 2 * time.Second

// maxWriteAttempts bounds the compare-and-set attempts of one write.
const maxWriteAttempts = 8

// errSessionChurn is returned when a session changed under every write
// attempt.
var errSessionChurn = errors.New("the session kept changing under concurrent writes")

// writeShared writes ours, the record's values as this request leaves
// them, over version, the record's version when it held base. When another
// instance wrote the record meanwhile, ours is merged with what it holds
// (merge3) and written over that version, until a write succeeds or there
// is nothing left to write. It returns the values the record holds and
// their version, or gone when the record no longer exists (ended
// elsewhere, or expired): it is not written back then.
func (s *ServerSessions) writeShared(ctx context.Context, sid string, base, ours map[string]string, version uint64) (written map[string]string, v uint64, gone bool, err error) {
	for range maxWriteAttempts {
		rec, ttl := s.record(ours)
		ok, err := s.shared.CompareAndSet(ctx, sid, version, rec, ttl)
		if err != nil {
			return nil, 0, false, err
		}
		if ok {
			return ours, version + 1, false, nil
		}
		cur, found, err := s.shared.Get(ctx, sid)
		if err != nil {
			return nil, 0, false, err
		}
		if !found {
			return nil, 0, true, nil
		}
		merged := merge3(base, ours, cur.Values)
		if maps.Equal(merged, cur.Values) {
			return cur.Values, cur.Version, false, nil
		}
		base, ours, version = cur.Values, merged, cur.Version
	}
	return nil, 0, false, errSessionChurn
}

// tokenKeys are written together by a sign-in or a refresh: a three-way
// merge takes them from one side only, never a refresh token of one
// refresh with the access tokens of another.
var tokenKeys = [...]string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens}

// merge3 merges two changes of base: ours, made by this request, and
// theirs, what the store holds now. A key (the token keys as one) takes
// the side that changed it; when both did, theirs, the one written first,
// wins: a request that refreshed with a refresh token another instance had
// already rotated keeps the other instance's tokens.
func merge3(base, ours, theirs map[string]string) map[string]string {
	out := make(map[string]string, len(theirs)+2)
	take := func(k string, e entry) {
		if e.ok {
			out[k] = e.v
		}
	}
	tokens := func(m map[string]string) (e [len(tokenKeys)]entry) {
		for i, k := range tokenKeys {
			e[i] = entryOf(m, k)
		}
		return e
	}
	b, o, t := tokens(base), tokens(ours), tokens(theirs)
	if o != b && t == b {
		t = o
	}
	for i, k := range tokenKeys {
		take(k, t[i])
	}
	for _, m := range []map[string]string{base, ours, theirs} {
		for k := range m {
			if _, done := out[k]; done || isTokenKey(k) {
				continue
			}
			b, o, t := entryOf(base, k), entryOf(ours, k), entryOf(theirs, k)
			if o != b && t == b {
				t = o
			}
			take(k, t)
		}
	}
	return out
}

// entry is a value and whether it is present.
type entry struct {
	v  string
	ok bool
}

func entryOf(m map[string]string, k string) entry {
	v, ok := m[k]
	return entry{v, ok}
}

func isTokenKey(k string) bool {
	for _, t := range tokenKeys {
		if k == t {
			return true
		}
	}
	return false
}

// sharedStore returns the SharedSessionStore of s's sessions, or nil.
func (s *session) sharedStore() SharedSessionStore {
	if ss, ok := s.h.sessions.(*ServerSessions); ok {
		return ss.shared
	}
	return nil
}

// storage is the logto.Storage of s for the SDK: s itself, or, when the
// sessions live in a SharedSessionStore, s with its refresh lock.
func (s *session) storage() logto.Storage {
	if s.sharedStore() != nil {
		return sharedSession{s}
	}
	return s
}

// sharedSession is a session kept in a SharedSessionStore: it implements
// logto.RefreshLocker.
type sharedSession struct{ *session }

// LockRefresh implements logto.RefreshLocker.
func (v sharedSession) LockRefresh(ctx context.Context) (func(context.Context) error, error) {
	return v.lockRefresh(ctx)
}

// sharedWithoutDefault is the withoutDefaultToken view of a sharedSession.
type sharedWithoutDefault struct{ withoutDefaultToken }

// LockRefresh implements logto.RefreshLocker.
func (v sharedWithoutDefault) LockRefresh(ctx context.Context) (func(context.Context) error, error) {
	return v.lockRefresh(ctx)
}

// lockRefresh takes the refresh lock of the session's record, reloads the
// record and returns the unlock function of logto.RefreshLocker. A session
// without a record yet (being signed in by this request) needs no lock.
func (s *session) lockRefresh(ctx context.Context) (func(context.Context) error, error) {
	ss := s.h.sessions.(*ServerSessions)
	s.mu.Lock()
	err := s.ensureLoaded()
	id := s.state.id
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if id == "" {
		return func(context.Context) error { return nil }, nil
	}
	sid := storeID(id)
	token, err := ss.shared.Lock(ctx, sid, DefaultRefreshLockTTL)
	if err != nil {
		return nil, fmt.Errorf("%w: lock: %w", errSessionStore, err)
	}
	// Extended while held, however slow the refresh request: only a
	// holder that died loses the lock.
	stop := make(chan struct{})
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		t := time.NewTicker(DefaultRefreshLockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if ok, err := ss.shared.Extend(context.WithoutCancel(ctx), sid, token, DefaultRefreshLockTTL); err == nil && !ok {
					return
				}
			}
		}
	}()
	release := func() {
		close(stop)
		<-kept
		_ = ss.shared.Unlock(context.WithoutCancel(ctx), sid, token)
	}
	if err := s.reload(ctx, ss, sid); err != nil {
		release()
		return nil, err
	}
	return func(ctx context.Context) error {
		defer release()
		return s.writeLocked(ctx, ss, sid)
	}, nil
}

// reload reads the session's record again and merges it into the
// request's values (merge3: what this request changed since it loaded the
// record stays, unless another instance changed it too).
func (s *session) reload(ctx context.Context, ss *ServerSessions, sid string) error {
	rec, found, err := ss.shared.Get(ctx, sid)
	if err != nil {
		return fmt.Errorf("%w: %w", errSessionStore, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, pending := splitPending(s.values)
	if !found {
		// Ended elsewhere: signed out here too (the save deletes the id
		// and clears the cookie).
		s.values, s.owned = pending, true
		s.changed()
		return nil
	}
	merged := merge3(s.state.stored, stored, rec.Values)
	if !maps.Equal(merged, rec.Values) {
		s.changed()
	}
	for k, v := range pending {
		merged[k] = v
	}
	s.values, s.owned = merged, true
	s.state.stored, s.state.version = rec.Values, rec.Version
	return nil
}

// writeLocked writes the session's record as the refresh left it, before
// the refresh lock is released: the next holder reads it. The request's
// later save then finds nothing to write.
func (s *session) writeLocked(ctx context.Context, ss *ServerSessions, sid string) error {
	s.mu.Lock()
	stored, pending := splitPending(s.values)
	base, version := s.state.stored, s.state.version
	s.mu.Unlock()
	if len(stored) == 0 || maps.Equal(stored, base) {
		return nil
	}
	written, v, gone, err := ss.writeShared(context.WithoutCancel(ctx), sid, base, stored, version)
	if err != nil {
		return fmt.Errorf("%w: %w", errSessionStore, err)
	}
	if gone {
		return nil // the request's save clears the cookie
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !maps.Equal(written, stored) {
		// Another instance's tokens won: the request goes on with them.
		m := maps.Clone(written)
		for k, val := range pending {
			m[k] = val
		}
		s.values, s.owned = m, true
	}
	s.state.stored, s.state.version, s.state.rewritten = written, v, true
	return nil
}

// DefaultMaxRecordBytes is the size limit (SessionRecord.Size) of a record
// in the Redis and PostgreSQL stores unless configured otherwise: a
// session with an ID token, a refresh token and a few dozen access tokens
// takes tens of kilobytes.
const DefaultMaxRecordBytes = 256 << 10

// ErrRecordTooLarge is wrapped by the error of a store's Set or
// CompareAndSet refusing a record over its size limit; nothing is written.
var ErrRecordTooLarge = errors.New("logtohttp: session record over the store's size limit")

// Size is the size of the record that a store's limit counts: the bytes of
// its keys and values, Subject and SID.
func (r SessionRecord) Size() int {
	n := len(r.Subject) + len(r.SID)
	for k, v := range r.Values {
		n += len(k) + len(v)
	}
	return n
}
