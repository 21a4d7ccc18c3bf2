package logto

import (
	"context"
	"fmt"
)

// RefreshLocker is an optional interface of a Storage whose session several
// processes share: a server-side session kept in Redis or SQL behind a load
// balancer (package logtohttp's server sessions offer it when their
// SessionStore does). Refreshes are otherwise coordinated within one
// process only, and two instances refreshing one session would both spend
// its refresh token, which Logto forgives for 3 seconds and otherwise
// answers by revoking the grant.
//
// With a RefreshLocker, the refresh request of a session is sent under its
// lock, across all processes: the SDK takes the lock, looks at the session
// again (LockRefresh reloaded it), uses a fresh token another process
// stored meanwhile instead of refreshing (following its rotated refresh
// token), and otherwise refreshes and stores the result through the
// Storage before calling unlock, which writes the session to the shared
// store and releases the lock. One expired token then causes one refresh
// request across every instance, and the refresh token is spent once.
type RefreshLocker interface {
	// LockRefresh takes the session's refresh lock, waiting while another
	// process holds it until ctx is done, then reloads the Storage so that
	// Get returns what the shared store holds now. The lock must end by
	// itself after a short time (a process may die holding it): a refresh
	// interrupted that way is retried by the next holder with the same
	// refresh token, which Logto accepts only within its 3 s reuse
	// interval, so a lock lasting about 2 s keeps such a retry within it.
	//
	// unlock writes what was set through the Storage since LockRefresh to
	// the shared store, in one atomic write that never overwrites a newer
	// rotation with an older one, and releases the lock. Its error means
	// nothing was written; the lock ends either way. unlock is called
	// exactly once after a nil error.
	LockRefresh(ctx context.Context) (unlock func(context.Context) error, err error)
}

// leadLocked is lead for a Storage shared by several processes: the check
// for a fresh token, the refresh request and the store run under the
// session's lock, on the session as the shared store holds it.
func (c *LogtoClient) leadLocked(ctx context.Context, l RefreshLocker, rt string, key tokenKey, previous *IdTokenClaims, f *flight) (cachedToken, error) {
	book := &c.core.recent
	unlock, err := l.LockRefresh(ctx)
	if err != nil {
		err = fmt.Errorf("%w: lock the session to refresh it: %w", ErrStorage, err)
		book.finish(rt, f, nil, err, c.core.set.now())
		close(f.done)
		return cachedToken{}, err
	}
	// The lock is released before the callers waiting in this process
	// wake: they take it in turn and find the stored result.
	end := func(t cachedToken, err error) (cachedToken, error) {
		if uerr := unlock(context.WithoutCancel(ctx)); uerr != nil && err == nil {
			return cachedToken{}, fmt.Errorf("%w: write the refreshed session: %w", ErrStorage, uerr)
		}
		return t, err
	}
	// Another process may have refreshed while this one waited for the
	// lock: its token is used, and its refresh token kept.
	t, ok, err := c.cachedFresh(ctx, key)
	if err == nil && ok {
		book.finish(rt, f, nil, nil, c.core.set.now())
		defer close(f.done)
		return end(t, nil)
	}
	cur, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil || cur == "" {
		// Unreadable, or signed out elsewhere: the callers waiting here
		// read their own session again.
		book.finish(rt, f, nil, nil, c.core.set.now())
		defer close(f.done)
		if err != nil {
			return end(cachedToken{}, fmt.Errorf("%w: read %s: %w", ErrStorage, StorageKeyRefreshToken, err))
		}
		return end(cachedToken{}, ErrNotAuthenticated)
	}
	// cur is rt, or the refresh token another process rotated it to.
	res, err := c.core.doRefresh(ctx, cur, key)
	book.finish(rt, f, res, err, c.core.set.now())
	if err != nil {
		defer close(f.done)
		return end(cachedToken{}, err)
	}
	defer func() {
		close(res.stored)
		close(f.done)
	}()
	return end(c.storeResult(ctx, key, res, cur, previous))
}
