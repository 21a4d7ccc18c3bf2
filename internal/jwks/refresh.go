package jwks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// current returns the keys to verify with now, fetching them first when
// none are held or the held ones are past their maximum age. Its seen is
// the number of fetches begun before the caller looked, for a later
// update.
//
// When that fetch fails, keys past their maximum age are still returned
// for up to StaleGrace (the provider may be down, and the keys it
// published are still its keys); after that, or when no key was ever
// fetched, the error is returned.
func (k *KeySet) current(ctx context.Context) (view, error) {
	k.mu.Lock()
	v, fresh := k.viewLocked(), k.freshLocked()
	k.mu.Unlock()
	if fresh {
		return v, nil
	}
	seen := v.seen
	err := k.update(ctx, seen, false)
	if err != nil && ctx.Err() != nil {
		return view{}, fmt.Errorf("fetch JWKS: %w", ctx.Err())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v = k.viewLocked()
	v.seen = seen
	if k.freshLocked() || (k.keys != nil && k.cfg.Now().Before(k.expires.Add(StaleGrace))) {
		return v, nil
	}
	if err == nil {
		err = k.lastErr
	}
	if err == nil {
		err = errors.New("fetch JWKS: no keys")
	}
	if k.keys == nil {
		return view{}, err
	}
	return view{}, fmt.Errorf("the key set is more than %s past its maximum age and cannot be refetched: %w",
		StaleGrace, err)
}

// view is what a caller saw of the key set.
type view struct {
	keys    []jose.JSONWebKey
	expires time.Time
	seen    uint64
}

func (k *KeySet) viewLocked() view {
	return view{keys: k.keys, expires: k.expires, seen: k.started}
}

func (k *KeySet) freshLocked() bool {
	return k.keys != nil && k.cfg.Now().Before(k.expires)
}

// update fetches the key set unless there is no need or it is not allowed
// yet:
//   - keys from a fetch begun after the caller looked (its seen) are as
//     new as a fetch now would give;
//   - forKid (a token names an unknown key id): at most one such refetch
//     per cooldown; the first fetch and the ones for the maximum age do
//     not count, so a rotation right after start-up is picked up at once;
//   - otherwise (no keys, or past their maximum age): only if the held
//     keys are still not fresh;
//   - after a failed fetch, none for the cooldown, whatever the reason.
//
// Concurrent callers share one request; each waits only as long as its own
// context allows. A fetch abandoned by the context of the caller that
// started it does not count as a failure, and the callers still waiting
// fetch again with theirs.
func (k *KeySet) update(ctx context.Context, seen uint64, forKid bool) error {
	for {
		k.mu.Lock()
		if k.keysFrom > seen {
			k.mu.Unlock()
			return nil
		}
		if f := k.inflight; f != nil {
			k.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if f.err != nil && !f.abandoned {
				return f.err
			}
			continue // abandoned, or done before the caller looked: look again
		}
		now := k.cfg.Now()
		switch {
		case !forKid && k.freshLocked():
			k.mu.Unlock()
			return nil
		case forKid && !k.refetchedAt.IsZero() && now.Sub(k.refetchedAt) < k.cfg.Cooldown:
			k.mu.Unlock()
			return nil
		case !k.failedAt.IsZero() && now.Sub(k.failedAt) < k.cfg.Cooldown:
			err := k.lastErr
			k.mu.Unlock()
			return err
		}
		k.started++
		f := &fetch{seq: k.started, done: make(chan struct{})}
		k.inflight = f
		prevRefetch := k.refetchedAt
		if forKid {
			k.refetchedAt = now
		}
		k.mu.Unlock()

		keys, lifetime, err := k.get(ctx)

		k.mu.Lock()
		f.abandoned = err != nil && ctx.Err() != nil
		switch {
		case err == nil:
			k.keys, k.keysFrom, k.expires = keys, f.seq, now.Add(lifetime)
			k.failedAt, k.lastErr = time.Time{}, nil
		case f.abandoned:
			k.refetchedAt = prevRefetch
		default:
			k.failedAt, k.lastErr = k.cfg.Now(), err
		}
		k.inflight = nil
		f.err = err
		close(f.done)
		k.mu.Unlock()
		return err
	}
}
