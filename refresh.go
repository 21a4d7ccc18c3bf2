package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gologto/logto/internal/jwtx"
)

// refreshResult is what one refresh request produced.
type refreshResult struct {
	// refreshToken is the refresh token valid after this request: the
	// rotated one, or the one used when the response carried none.
	refreshToken string
	// entry is the access token, as cached.
	entry cachedToken
	// idToken is the raw ID token of the response, not yet verified; ""
	// when it carried none.
	idToken string
	// at is when the request was sent.
	at time.Time
	// stored is closed once the caller that sent the request has stored
	// the result in its own storage (or failed to): the other callers store
	// after it, so that on the same storage they find it there and write
	// nothing.
	stored chan struct{}
	// storeMu serialises the callers storing this result (see storeResult).
	storeMu sync.Mutex
	// spent is the refresh token the request sent.
	spent string
	// cleared is set when the session's access tokens were cleared
	// (ClearAccessTokens) after the request was sent: the result still
	// answers the caller that sent it and moves the session's refresh
	// token forward, but its access token is neither cached nor handed to
	// other callers.
	cleared atomic.Bool

	// The ID token is verified once for all the callers that need it,
	// against the session's ID token of the first (idVerified.checkedFor);
	// the others hold the same one and read the answer without locking, or
	// are checked against theirs.
	idMu       sync.Mutex
	idVerified atomic.Pointer[idVerification]
	// Or only decoded (iss and sub) when the session's ID token is kept.
	subOnce sync.Once
	sub     idSubject
	subErr  error
}

type idSubject struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
}

// idVerification is the outcome of verifying a result's ID token.
type idVerification struct {
	checkedFor *IdTokenClaims
	claims     IdTokenClaims
	err        error
}

// verifyIDToken verifies the result's ID token completely (signature,
// iss, aud, times, and iss, sub and nonce against previous, the caller's
// session ID token) once: a later caller holding the same session ID token
// gets the same answer without decoding anything again. A failure caused
// by a caller's context is not kept.
//
// The fast path is kept apart from the verification (verifyIDTokenLocked)
// so that its stack frame stays small: each of the many goroutines a
// shared refresh answers comes through here, on a new goroutine's stack.
func (r *refreshResult) verifyIDToken(ctx context.Context, c *core, previous *IdTokenClaims) error {
	if v := r.idVerified.Load(); v != nil && v.checkedFor == previous {
		return v.err
	}
	return r.verifyIDTokenLocked(ctx, c, previous)
}

// verifyIDTokenLocked is verifyIDToken's slow path, under idMu: verify
// once, or check the verified claims against another session ID token.
func (r *refreshResult) verifyIDTokenLocked(ctx context.Context, c *core, previous *IdTokenClaims) error {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	if v := r.idVerified.Load(); v != nil {
		if v.checkedFor == previous {
			return v.err
		}
		if v.err == nil {
			claims := v.claims
			if err := c.checkIDClaims(&claims, idTokenCheck{previous: previous}); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
			}
			return nil
		}
	}
	m, err := c.provider(ctx)
	if err != nil {
		return err
	}
	claims, err := c.verifyIDToken(ctx, m, r.idToken, idTokenCheck{previous: previous})
	if err != nil && ctx.Err() != nil {
		return err
	}
	r.idVerified.Store(&idVerification{checkedFor: previous, claims: claims, err: err})
	if err == nil {
		c.claimsCache.put(r.idToken, &decodedClaims{raw: r.idToken, claims: claims})
	}
	return err
}

// sameUser checks, without verifying the signature, that the result's ID
// token names the session's issuer and user (previous is never nil here:
// a session without an ID token always has it verified).
func (r *refreshResult) sameUser(previous *IdTokenClaims) error {
	r.subOnce.Do(func() {
		payload, err := jwtx.Payload(r.idToken)
		if err == nil {
			err = json.Unmarshal(payload, &r.sub)
		}
		if err != nil {
			r.subErr = fmt.Errorf("%w: %w: %w", ErrInvalidIDToken, ErrTokenMalformed, err)
		}
	})
	if r.subErr != nil {
		return r.subErr
	}
	if previous != nil && (r.sub.Issuer != previous.Issuer || r.sub.Subject != previous.Subject) {
		return fmt.Errorf("%w: %w: refreshed ID token has another iss or sub", ErrInvalidIDToken, ErrSubjectMismatch)
	}
	return nil
}

// refreshShared returns a fresh access token for key, refreshing with the
// session's refresh token read (as read from storage) in a way that spends
// a refresh token once across all views of the client, and stores the
// result in this view's storage.
//
//   - Requests with the same refresh token run one at a time, whatever
//     token they ask for, because Logto may rotate the refresh token and
//     treats a second use of the old one as theft (revoking the session).
//   - Callers asking for the same token with the same refresh token while
//     a request is in flight wait for it and get its result directly.
//   - A result stays reusable for recentWindow, while its access token is
//     fresh, under the refresh token it spent and the one it produced: a
//     caller that read the session just before the result was stored gets
//     it instead of refreshing again.
//   - A caller holding a refresh token that was just rotated follows the
//     rotation instead of reusing it.
//   - Before sending, the caller that will send checks its storage again:
//     another view may have stored a fresh token after this one read it.
func (c *LogtoClient) refreshShared(ctx context.Context, read string, key tokenKey, previous *IdTokenClaims) (cachedToken, error) {
	k := key.String()
	book := &c.core.recent
	rt := read
	for hops := 0; ; {
		now := c.core.set.now()
		book.mu.Lock()
		book.expireLocked(now)
		if res := book.resultLocked(rt, k, now); res != nil && c.core.fresh(res.entry, now) && key.accepts(res.at) {
			book.mu.Unlock()
			return c.useResult(ctx, key, res, read, previous)
		}
		if next := book.rotationLocked(rt, now); next != "" && hops < maxRotationHops {
			book.mu.Unlock()
			rt = next
			hops++
			continue
		}
		if f := book.inflight[rt]; f != nil {
			book.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return cachedToken{}, ctx.Err()
			}
			switch {
			case f.res != nil && f.key == k && c.core.fresh(f.res.entry, c.core.set.now()) && key.accepts(f.res.at) && !f.res.cleared.Load():
				// Fresh at this caller's own time: a result answered after
				// its short-lived token expired is not handed out.
				return c.useResult(ctx, key, f.res, read, previous)
			case f.res != nil && f.key == k:
				// Expired on arrival, sent before this forced refresh began,
				// or cleared: the loop follows its rotation and refreshes
				// again.
				continue
			case f.err != nil && !isContextErr(f.err) && (f.key == k || isInvalidGrant(f.err)):
				// The same request would fail the same way; a refused
				// refresh token is refused whatever the token asked for.
				return cachedToken{}, f.err
			}
			continue // a request for another token, or one its sender gave up
		}
		f := &flight{key: k, done: make(chan struct{})}
		book.startLocked(rt, f)
		book.mu.Unlock()
		return c.lead(ctx, rt, read, key, previous, f)
	}
}

// lead sends the refresh request of flight f with rt, publishes its result
// to the callers waiting for it, and stores it.
func (c *LogtoClient) lead(ctx context.Context, rt, read string, key tokenKey, previous *IdTokenClaims, f *flight) (cachedToken, error) {
	book := &c.core.recent
	if t, ok, err := c.cachedFresh(ctx, key); err == nil && ok {
		book.finish(rt, f, nil, nil, c.core.set.now())
		close(f.done)
		return t, nil
	}
	if l, ok := c.storage.(RefreshLocker); ok {
		return c.leadLocked(ctx, l, rt, key, previous, f) // coordination.go
	}
	res, err := c.core.doRefresh(ctx, rt, key)
	book.finish(rt, f, res, err, c.core.set.now())
	if err != nil {
		close(f.done)
		return cachedToken{}, err
	}
	// The refresh token is free again (a request for another token may
	// follow the rotation now); the callers waiting for this result wake
	// once it is stored, and find nothing left to write.
	defer func() {
		close(res.stored)
		close(f.done)
	}()
	return c.storeResult(ctx, key, res, read, previous)
}

// useResult stores a result another caller fetched, after that caller
// stored it.
func (c *LogtoClient) useResult(ctx context.Context, key tokenKey, res *refreshResult, read string, previous *IdTokenClaims) (cachedToken, error) {
	select {
	case <-res.stored:
	case <-ctx.Done():
		return cachedToken{}, ctx.Err()
	}
	return c.storeResult(ctx, key, res, read, previous)
}

func (c *core) doRefresh(ctx context.Context, rt string, key tokenKey) (*refreshResult, error) {
	m, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
	}
	if key.resource != "" {
		form.Set("resource", key.resource)
	}
	if key.organizationID != "" {
		form.Set("organization_id", key.organizationID)
	}
	if key.scope != "" {
		form.Set("scope", key.scope)
	}
	at := c.set.now()
	tr, err := c.postToken(ctx, m, form)
	if err != nil {
		return nil, wrapf(err, "refresh access token")
	}
	res := &refreshResult{
		spent:        rt,
		refreshToken: rt,
		entry:        tokenEntry(tr, at),
		idToken:      tr.IDToken,
		at:           at,
		stored:       make(chan struct{}),
	}
	if tr.RefreshToken != "" {
		res.refreshToken = tr.RefreshToken
	}
	return res, nil
}

// recentWindow is how long a refresh result answers callers still holding
// the refresh token it spent, and how long a rotation is followed.
const recentWindow = 10 * time.Second

// maxRotationHops bounds how many rotations a caller follows: a session
// refreshing a token per audience at once rotates once per audience.
const maxRotationHops = 64

// flight is a refresh request in flight. done is closed once res or err
// is set and, for a result, once its sender stored it.
type flight struct {
	key  string
	done chan struct{}
	res  *refreshResult
	err  error
	// cleared: the session's access tokens were cleared while the request
	// was in flight (guarded by recentRefreshes.mu); its result is marked
	// cleared.
	cleared bool
}

// recentRefreshes is the shared bookkeeping of refreshes: the request in
// flight per refresh token, and for recentWindow the results of refreshes
// (by refresh token and cache key) and which refresh token replaced which.
// Entries expire in the order they were added, through a queue: each
// costs O(1), whatever the number of sessions refreshing.
type recentRefreshes struct {
	mu       sync.Mutex
	inflight map[string]*flight
	results  map[resultKey]*refreshResult
	rotated  map[string]rotation
	queue    []expiring
	head     int
}

type resultKey struct{ rt, key string }

type rotation struct {
	next string
	at   time.Time
}

// expiring is a queued entry of results (res != nil) or rotated.
type expiring struct {
	until time.Time
	rk    resultKey
	res   *refreshResult
}

func (r *recentRefreshes) resultLocked(rt, key string, now time.Time) *refreshResult {
	res := r.results[resultKey{rt, key}]
	if res == nil || !within(res.at, now) {
		return nil
	}
	return res
}

func (r *recentRefreshes) rotationLocked(rt string, now time.Time) string {
	if rot, ok := r.rotated[rt]; ok && within(rot.at, now) {
		return rot.next
	}
	return ""
}

func (r *recentRefreshes) startLocked(rt string, f *flight) {
	if r.inflight == nil {
		r.inflight = make(map[string]*flight)
	}
	r.inflight[rt] = f
}

// finish ends the flight of rt: it records a result under the refresh
// token spent and the one produced. The caller then closes f.done to wake
// the callers waiting for it.
func (r *recentRefreshes) finish(rt string, f *flight, res *refreshResult, err error, now time.Time) {
	r.mu.Lock()
	delete(r.inflight, rt)
	if res != nil {
		if f.cleared {
			res.cleared.Store(true)
		}
		r.putLocked(rt, f.key, res, now)
	}
	f.res, f.err = res, err
	r.mu.Unlock()
}

func (r *recentRefreshes) putLocked(rt, key string, res *refreshResult, now time.Time) {
	if r.results == nil {
		r.results = make(map[resultKey]*refreshResult)
		r.rotated = make(map[string]rotation)
	}
	r.expireLocked(now)
	until := now.Add(recentWindow)
	add := func(rk resultKey) {
		if res.cleared.Load() {
			return // only its rotation is recorded
		}
		r.results[rk] = res
		r.queue = append(r.queue, expiring{until: until, rk: rk, res: res})
	}
	add(resultKey{rt, key})
	if res.refreshToken != rt {
		r.rotated[rt] = rotation{next: res.refreshToken, at: res.at}
		r.queue = append(r.queue, expiring{until: until, rk: resultKey{rt: rt}})
		add(resultKey{res.refreshToken, key})
	}
}

// refuse forgets res, a result whose response a caller refused (an ID
// token that failed verification): the next caller sends a new request
// instead of being answered with the refused result again for
// recentWindow. Its rotation is forgotten too, since the refused response
// was never stored.
func (r *recentRefreshes) refuse(key string, res *refreshResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rk := range []resultKey{{res.spent, key}, {res.refreshToken, key}} {
		if r.results[rk] == res {
			delete(r.results, rk)
		}
	}
	if rot, ok := r.rotated[res.spent]; ok && rot.next == res.refreshToken {
		delete(r.rotated, res.spent)
	}
}

// forget marks cleared, and drops, the results that spent or produced the
// refresh token rt and the request in flight with it (ClearAccessTokens):
// no later caller is answered with an access token obtained before the
// clear, and none is stored in the session's cache. The rotations stay, so
// callers holding an older refresh token still follow them.
func (r *recentRefreshes) forget(rt string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for rk, res := range r.results {
		if rk.rt == rt || res.refreshToken == rt {
			res.cleared.Store(true)
			delete(r.results, rk)
		}
	}
	if f := r.inflight[rt]; f != nil {
		f.cleared = true
	}
}

// expireLocked drops the entries added more than recentWindow ago. An
// entry replaced since it was queued stays, under its own later entry.
func (r *recentRefreshes) expireLocked(now time.Time) {
	for r.head < len(r.queue) && !now.Before(r.queue[r.head].until) {
		e := r.queue[r.head]
		r.queue[r.head] = expiring{}
		r.head++
		if e.res != nil {
			if r.results[e.rk] == e.res {
				delete(r.results, e.rk)
			}
		} else if rot, ok := r.rotated[e.rk.rt]; ok && !now.Before(rot.at.Add(recentWindow)) {
			delete(r.rotated, e.rk.rt)
		}
	}
	switch {
	case r.head == len(r.queue):
		r.queue, r.head = r.queue[:0], 0
	case r.head >= 1024 && 2*r.head >= len(r.queue):
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
}

// leadsTo reports whether cur is from, or a refresh token that rotated
// from from on the way to to (to excluded): storing to then moves the
// session forward, never back to a spent token.
func (r *recentRefreshes) leadsTo(from, cur, to string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for x, hops := from, 0; hops <= maxRotationHops && x != to; hops++ {
		if x == cur {
			return true
		}
		rot, ok := r.rotated[x]
		if !ok || !within(rot.at, now) {
			return false
		}
		x = rot.next
	}
	return false
}

func within(at, now time.Time) bool {
	return !now.Before(at) && now.Sub(at) <= recentWindow
}
