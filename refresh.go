package logto

import (
	"context"
	"net/url"
	"sync"
	"time"
)

// refreshResult is what one refresh request produced.
type refreshResult struct {
	resp *tokenResponse
	// refreshToken is the refresh token valid after this request: the
	// rotated one, or the one used when the response carried none.
	refreshToken string
	at           time.Time
}

// refreshShared returns a refresh result for key, spending rt at most once
// across all views of the client:
//
//   - requests with the same refresh token run one at a time, whatever
//     token they ask for, because Logto may rotate the refresh token and
//     treats a second use of the old one as theft (revoking the session);
//   - a result stays reusable for recentWindow under the refresh token it
//     spent and the one it produced, so concurrent callers for the same
//     key share one request;
//   - a caller holding a refresh token that was just rotated follows the
//     rotation instead of reusing it.
func (c *core) refreshShared(ctx context.Context, rt string, key tokenKey, previous *IdTokenClaims) (*refreshResult, error) {
	k := key.String()
	for hops := 0; ; hops++ {
		if r := c.recent.result(rt, k, c.set.now()); r != nil {
			return r, nil
		}
		unlock, err := c.rtLocks.lock(ctx, rt)
		if err != nil {
			return nil, err
		}
		if r := c.recent.result(rt, k, c.set.now()); r != nil {
			unlock()
			return r, nil
		}
		if next := c.recent.rotation(rt, c.set.now()); next != "" && hops < 8 {
			unlock()
			rt = next
			continue
		}
		r, err := c.doRefresh(ctx, rt, key, previous)
		if err == nil {
			c.recent.put(rt, k, r)
		}
		unlock()
		return r, err
	}
}

func (c *core) doRefresh(ctx context.Context, rt string, key tokenKey, previous *IdTokenClaims) (*refreshResult, error) {
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
	at := c.set.now()
	tr, err := c.postToken(ctx, m, form)
	if err != nil {
		return nil, wrapf(err, "refresh access token")
	}
	res := &refreshResult{resp: tr, refreshToken: rt, at: at}
	if tr.RefreshToken != "" {
		res.refreshToken = tr.RefreshToken
	}
	if tr.IDToken != "" {
		claims, err := c.verifyIDToken(ctx, m, tr.IDToken, idTokenCheck{previous: previous})
		if err != nil {
			return nil, err
		}
		c.claimsCache.put(tr.IDToken, &decodedClaims{raw: tr.IDToken, claims: claims})
	}
	return res, nil
}

// recentWindow is how long a refresh result answers callers still holding
// the refresh token it spent.
const recentWindow = 10 * time.Second

// recentRefreshes remembers, for recentWindow, the results of refreshes
// (by refresh token and cache key) and which refresh token replaced which.
type recentRefreshes struct {
	mu      sync.Mutex
	results map[string]*refreshResult
	rotated map[string]rotation
}

type rotation struct {
	next string
	at   time.Time
}

func (r *recentRefreshes) result(rt, key string, now time.Time) *refreshResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.results[rt+"\x00"+key]
	if res == nil || !within(res.at, now) {
		return nil
	}
	return res
}

func (r *recentRefreshes) rotation(rt string, now time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rot, ok := r.rotated[rt]; ok && within(rot.at, now) {
		return rot.next
	}
	return ""
}

func (r *recentRefreshes) put(rt, key string, res *refreshResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.results == nil {
		r.results = make(map[string]*refreshResult)
		r.rotated = make(map[string]rotation)
	}
	for k, v := range r.results {
		if !within(v.at, res.at) {
			delete(r.results, k)
		}
	}
	for k, v := range r.rotated {
		if !within(v.at, res.at) {
			delete(r.rotated, k)
		}
	}
	r.results[rt+"\x00"+key] = res
	if res.refreshToken != rt {
		r.rotated[rt] = rotation{next: res.refreshToken, at: res.at}
		r.results[res.refreshToken+"\x00"+key] = res
	}
}

// leadsTo reports whether cur is from, or a refresh token that rotated
// from from on the way to to (to excluded): storing to then moves the
// session forward, never back to a spent token.
func (r *recentRefreshes) leadsTo(from, cur, to string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for x, hops := from, 0; hops < 16 && x != to; hops++ {
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

// keyedMutex is a set of mutexes created on demand by key; waiting for one
// honours the caller's context.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	ch   chan struct{}
	refs int
}

func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; k.release(key, e) }, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *keyedMutex) release(key string, e *keyedEntry) {
	k.mu.Lock()
	e.refs--
	if e.refs == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
}
