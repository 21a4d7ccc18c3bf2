package logtohttp

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gologto/logto"
)

// ErrSessionTooLarge reports a cookie session that does not fit its
// cookie budget (CookieOptions.MaxBytes) even without cached access tokens
// and pending sign-ins. Errors that match it are *SessionSizeError.
var ErrSessionTooLarge = errors.New("logtohttp: the session is too large for its cookies")

// SessionSizeError is the error of a cookie session over its budget,
// passed to Config.OnSessionError.
type SessionSizeError struct {
	// Bytes is what the session's cookies need in the Cookie header,
	// after dropping every cached access token and pending sign-in.
	Bytes int
	// Budget is CookieOptions.MaxBytes.
	Budget int
	// Saved reports that the session was written anyway, over the budget
	// (front ends may then refuse the browser's requests with 431). When
	// false, it needed more than ten cookies and was not written: the
	// browser keeps its previous session, and a refresh token rotated in
	// this request is lost.
	Saved bool
}

// Error describes the sizes.
func (e *SessionSizeError) Error() string {
	what := "saved over the budget"
	if !e.Saved {
		what = "not saved: more than ten cookies; keep fewer claims in the ID token or use NewServerSessions"
	}
	return fmt.Sprintf("%v: its cookies need %d bytes, the budget is %d (CookieOptions.MaxBytes); %s", ErrSessionTooLarge, e.Bytes, e.Budget, what)
}

// Is makes the error match ErrSessionTooLarge.
func (e *SessionSizeError) Is(target error) bool { return target == ErrSessionTooLarge }

// savedAnyway reports whether err describes a session that was written.
func savedAnyway(err error) bool {
	var se *SessionSizeError
	return errors.As(err, &se) && se.Saved
}

// fit seals values within the budget of cookies named names, dropping
// what can be obtained again when it must: expired access tokens, then
// access tokens from the least recently obtained, then pending sign-ins
// from the oldest. It returns the sealed text, the values it holds, and
// a *SessionSizeError when even the smallest form is over the budget
// (Saved when it still fits ten cookies, and is then returned).
func (c *CookieSessions) fit(names *chunkNames, values map[string]string) (string, map[string]string, error) {
	enc := c.seal(values)
	if c.headerBytes(names, len(enc)) <= c.maxBytes {
		return enc, values, nil
	}
	sh := newShedder(values, c.now().Unix())
	n := sh.count()
	fits := func(k int) (string, map[string]string, bool) {
		v := sh.build(k)
		e := c.seal(v)
		return e, v, c.headerBytes(names, len(e)) <= c.maxBytes
	}
	enc, smallest, ok := fits(n)
	if !ok {
		err := &SessionSizeError{Bytes: c.headerBytes(names, len(enc)), Budget: c.maxBytes, Saved: c.chunks(len(enc)) <= maxChunks}
		if !err.Saved {
			return "", nil, err
		}
		return enc, smallest, err
	}
	// The fewest drops that fit: dropping more never makes it larger.
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		if e, v, ok := fits(mid); ok {
			hi, enc, smallest = mid, e, v
		} else {
			lo = mid + 1
		}
	}
	return enc, smallest, nil
}

// shedder builds smaller forms of a session's values: build(k) drops the
// first k of the candidates, the access tokens in the order they should
// go, then the pending sign-ins from the oldest. Values it cannot read are
// kept as they are.
type shedder struct {
	base     map[string]string // the rest, never dropped
	tokens   []tokenEntry      // live access tokens, least recently obtained first
	txs      []txEntry         // pending sign-ins, oldest first
	returnTo []returnToEntry   // return_to paths of pending sign-ins
	pending  bool              // base lacks the pending sign-in keys
}

type tokenEntry struct {
	key string
	raw json.RawMessage
}

type txEntry struct {
	state string
	raw   json.RawMessage
}

func newShedder(values map[string]string, now int64) *shedder {
	sh := &shedder{base: maps.Clone(values)}
	if entries, ok := decodeTokenMap(values[logto.StorageKeyAccessTokens]); ok {
		delete(sh.base, logto.StorageKeyAccessTokens)
		delete(sh.base, storageKeyTokenOrder)
		rank := make(map[string]int)
		for i, k := range decodeOrder(values[storageKeyTokenOrder]) {
			rank[k] = i + 1 // keys missing from the order count as oldest
		}
		for k, raw := range entries {
			var t struct {
				ExpiresAt int64 `json:"expiresAt"`
			}
			if json.Unmarshal(raw, &t) == nil && t.ExpiresAt > now {
				sh.tokens = append(sh.tokens, tokenEntry{key: k, raw: raw})
			}
		}
		slices.SortFunc(sh.tokens, func(a, b tokenEntry) int {
			return cmp.Or(cmp.Compare(rank[a.key], rank[b.key]), cmp.Compare(a.key, b.key))
		})
	}
	var txs []json.RawMessage
	if raw := values[logto.StorageKeySignInSession]; raw == "" || json.Unmarshal([]byte(raw), &txs) == nil {
		type meta struct {
			State     string `json:"state"`
			CreatedAt int64  `json:"createdAt"`
		}
		created := make(map[string]int64, len(txs))
		for _, raw := range txs {
			var m meta
			if json.Unmarshal(raw, &m) == nil {
				sh.txs = append(sh.txs, txEntry{state: m.State, raw: raw})
				created[m.State] = m.CreatedAt
			}
		}
		slices.SortStableFunc(sh.txs, func(a, b txEntry) int { return cmp.Compare(created[a.state], created[b.state]) })
		sh.returnTo = decodeReturnTo(values[storageKeyReturnTo], now)
		sh.pending = true
		delete(sh.base, logto.StorageKeySignInSession)
		delete(sh.base, storageKeyReturnTo)
	}
	return sh
}

// count is the number of candidates.
func (sh *shedder) count() int { return len(sh.tokens) + len(sh.txs) }

// build returns the values without the first k candidates.
func (sh *shedder) build(k int) map[string]string {
	v := maps.Clone(sh.base)
	tokens := sh.tokens[min(k, len(sh.tokens)):]
	if len(tokens) > 0 {
		m := make(map[string]json.RawMessage, len(tokens))
		order := make([]string, len(tokens))
		for i, t := range tokens {
			m[t.key], order[i] = t.raw, t.key
		}
		b, _ := json.Marshal(m)
		v[logto.StorageKeyAccessTokens] = string(b)
		if len(order) > 1 {
			v[storageKeyTokenOrder] = encodeOrder(order)
		}
	}
	if !sh.pending {
		return v
	}
	txs := sh.txs[max(0, k-len(sh.tokens)):]
	if len(txs) == 0 {
		return v
	}
	raws := make([]json.RawMessage, len(txs))
	kept := make(map[string]bool, len(txs))
	for i, t := range txs {
		raws[i], kept[t.state] = t.raw, true
	}
	b, _ := json.Marshal(raws)
	v[logto.StorageKeySignInSession] = string(b)
	var paths []returnToEntry
	for _, e := range sh.returnTo {
		if kept[e.State] {
			paths = append(paths, e)
		}
	}
	if raw := encodeReturnTo(paths); raw != "" {
		v[storageKeyReturnTo] = raw
	}
	return v
}

// storageKeyTokenOrder lists the keys of the access-token cache of a
// cookie session, the least recently obtained first (a JSON array), so
// that an oversized session drops the tokens least recently used first.
// Use is counted when a token is obtained: counting reads would rewrite
// the cookies on every request.
const storageKeyTokenOrder = "logtohttp.tokenOrder"

// trackTokenOrder returns values with storageKeyTokenOrder updated for
// the access tokens obtained since prev: the new and changed ones move to
// the end. values is not modified; a copy is returned when the order
// changes.
func trackTokenOrder(prev, values map[string]string) map[string]string {
	raw := values[logto.StorageKeyAccessTokens]
	if raw == prev[logto.StorageKeyAccessTokens] {
		return values
	}
	now, ok := decodeTokenMap(raw)
	var order []string
	if ok && len(now) > 1 {
		before, _ := decodeTokenMap(prev[logto.StorageKeyAccessTokens])
		same := func(k string) bool { b, ok := before[k]; return ok && tokenOf(b) == tokenOf(now[k]) }
		listed := make(map[string]bool)
		var kept, changed []string
		for _, k := range decodeOrder(values[storageKeyTokenOrder]) {
			if _, ok := now[k]; ok && !listed[k] && same(k) {
				kept = append(kept, k)
			}
			listed[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(now)) {
			switch {
			case !same(k):
				changed = append(changed, k)
			case !listed[k]:
				order = append(order, k) // unknown age: oldest
			}
		}
		order = append(append(order, kept...), changed...)
	}
	enc := ""
	if len(order) > 1 {
		enc = encodeOrder(order)
	}
	if values[storageKeyTokenOrder] == enc {
		return values
	}
	out := maps.Clone(values)
	if enc == "" {
		delete(out, storageKeyTokenOrder)
	} else {
		out[storageKeyTokenOrder] = enc
	}
	return out
}

// decodeTokenMap reads the access-token cache (logto.StorageKeyAccessTokens)
// entry by entry; ok is false when it is unreadable.
func decodeTokenMap(raw string) (map[string]json.RawMessage, bool) {
	if raw == "" {
		return nil, true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil, false
	}
	return m, true
}

// tokenOf returns the token of a cache entry.
func tokenOf(raw json.RawMessage) string {
	var t struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(raw, &t)
	return t.Token
}

func decodeOrder(raw string) []string {
	var order []string
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &order)
	}
	return order
}

func encodeOrder(order []string) string {
	b, _ := json.Marshal(order)
	return string(b)
}
