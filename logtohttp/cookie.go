package logtohttp

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSessionMaxAge is the default session lifetime: 14 days, Logto's
// default refresh token lifetime.
const DefaultSessionMaxAge = 14 * 24 * time.Hour

// Default cookie names. Over https (Secure cookies) every cookie name is
// sent with the "__Host-" prefix: "__Host-logto_session".
const (
	DefaultCookieSessionName = "logto_session"
	DefaultServerSessionName = "logto_sid"
)

// hostPrefix is the cookie name prefix browsers accept only on a Secure,
// host-only cookie with Path=/, and only from the site itself: a sibling
// subdomain can neither set nor overwrite such a cookie.
const hostPrefix = "__Host-"

// DefaultMaxCookieBytes is the default budget of a cookie session: the
// bytes its cookies take in the Cookie header, all chunks together (names,
// values and separators). It leaves 2 KB for the application's own
// cookies under the 8 KB per-header limit of common front ends (nginx,
// Apache, older Node.js), which answer 431 beyond it.
const DefaultMaxCookieBytes = 6 << 10

// minCookieBytes is the smallest budget CookieOptions.MaxBytes accepts.
const minCookieBytes = 1 << 10

const (
	// maxCookieLen bounds each Set-Cookie header value (name, value and
	// attributes), below the 4096 bytes browsers guarantee.
	maxCookieLen = 4000
	// maxChunks bounds how many cookies one session may use.
	maxChunks = 10
)

// CookieOptions configure the session cookies of NewCookieSessions and
// NewServerSessions. Cookies are always HttpOnly, SameSite=Lax, Path=/ and
// host-only (no Domain); Secure ones carry the "__Host-" name prefix.
type CookieOptions struct {
	// Name of the cookie; chunks of a large cookie session are named
	// Name.1, Name.2, …, and server sessions keep pending sign-ins in
	// Name_pending. Over https the names get the "__Host-" prefix, which
	// Name must not carry itself. Default "logto_session" for cookie
	// sessions and "logto_sid" for server sessions.
	Name string

	// Keys encrypt the sealed cookies with AES-GCM; each is 16, 24 or 32
	// random bytes (AES-128, -192, -256). The first encrypts, all decrypt:
	// to rotate, put a new key first and drop the old one after MaxAge.
	// Required by NewCookieSessions. NewServerSessions uses them for the
	// cookie of pending sign-ins; it needs them unless its store is a
	// MemorySessionStore (which cannot be shared between instances, so a
	// random key made at start-up does).
	Keys [][]byte

	// MaxAge bounds a session's life after its last change (the cookie's
	// Max-Age, and an expiry inside the encrypted value or the store's
	// TTL). Default DefaultSessionMaxAge.
	MaxAge time.Duration

	// Secure sets the Secure attribute. nil (the default) means on, except
	// when the public base URL is plain http on localhost, 127.0.0.0/8 or
	// [::1], where browsers would drop a Secure cookie.
	Secure *bool

	// MaxBytes is the budget of a cookie session's cookies in the Cookie
	// header, all chunks together. A session that would need more drops
	// cached access tokens (the least recently obtained first; they are
	// fetched again when needed), then pending sign-ins (the oldest
	// first); the ID and refresh tokens are always kept. A session still
	// over the budget is written anyway, up to ten cookies, and reported
	// as ErrSessionTooLarge (see Config.OnSessionError). Default
	// DefaultMaxCookieBytes; at least 1024, at most what ten cookies hold.
	MaxBytes int
}

func (o CookieOptions) normalize(defaultName string) (CookieOptions, error) {
	if o.Name == "" {
		o.Name = defaultName
	}
	if (&http.Cookie{Name: hostPrefix + o.Name + "_pending.9", Value: "x"}).Valid() != nil || strings.ContainsAny(o.Name, "=;, \t") {
		return o, fmt.Errorf("logtohttp: CookieOptions.Name %q: not a valid cookie name", o.Name)
	}
	if lower := strings.ToLower(o.Name); strings.HasPrefix(lower, "__host-") || strings.HasPrefix(lower, "__secure-") {
		return o, fmt.Errorf("logtohttp: CookieOptions.Name %q: leave the prefix out, the %s prefix is added on https", o.Name, hostPrefix)
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultSessionMaxAge
	}
	if o.MaxAge < time.Second {
		return o, fmt.Errorf("logtohttp: CookieOptions.MaxAge %s: must be at least one second", o.MaxAge)
	}
	return o, nil
}

// cookie returns the Set-Cookie value of name=value (maxAge < 0 deletes).
func (o CookieOptions) cookie(name, value string, maxAge int, secure bool) string {
	c := http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	return c.String()
}

// secure applies the Secure option to the Handler's default.
func (o CookieOptions) secure(auto bool) bool {
	if o.Secure != nil {
		return *o.Secure
	}
	return auto
}

// chunkNames are the names of a session's cookies: the base name, then
// name.1 … name.9.
type chunkNames [maxChunks]string

func newChunkNames(name string) chunkNames {
	var n chunkNames
	n[0] = name
	for i := 1; i < maxChunks; i++ {
		n[i] = name + "." + strconv.Itoa(i)
	}
	return n
}

// cookieNames holds the names of a cookie with and without the __Host-
// prefix, made once.
type cookieNames struct{ plain, host chunkNames }

func newCookieNames(name string) cookieNames {
	return cookieNames{plain: newChunkNames(name), host: newChunkNames(hostPrefix + name)}
}

// of returns the names used with the given Secure attribute.
func (n *cookieNames) of(secure bool) *chunkNames {
	if secure {
		return &n.host
	}
	return &n.plain
}

// markPrivate makes a response that sets or clears a session cookie
// uncacheable: no shared cache may keep it (it carries a session), even
// when the application asked for caching, and caches that key responses
// by URL learn that the cookie matters.
func markPrivate(h http.Header) {
	h.Set("Cache-Control", "no-store")
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}

// CookieSessions keeps the whole session in the browser: serialised,
// compressed, encrypted and authenticated with AES-GCM, split into cookies
// under 4 KB each (Name, Name.1, …) within a total budget
// (CookieOptions.MaxBytes). It needs no server state and survives restarts
// and load balancing; its cost is the cookie bytes sent with every
// request. A cookie that is tampered with, truncated, expired, encrypted
// with an unknown key, or ended by EndUserSessions reads as signed out.
type CookieSessions struct {
	opts  CookieOptions
	aeads []cipher.AEAD
	aad   []byte
	now   func() time.Time
	names cookieNames
	// chunkLen is the base64 capacity of one cookie, a multiple of 4.
	chunkLen int
	maxBytes int
	// cache maps recently seen cookie values to their decrypted sessions.
	cache openedCache
	// denied lists the sessions EndUserSessions ended.
	denied denyList
}

// NewCookieSessions returns cookie sessions encrypted with opts.Keys.
func NewCookieSessions(opts CookieOptions) (*CookieSessions, error) {
	opts, err := opts.normalize(DefaultCookieSessionName)
	if err != nil {
		return nil, err
	}
	return buildCookieSessions(opts)
}

// buildCookieSessions builds cookie sessions from normalized options.
func buildCookieSessions(opts CookieOptions) (*CookieSessions, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("logtohttp: CookieOptions.Keys needs at least one key (16, 24 or 32 random bytes)")
	}
	c := &CookieSessions{now: time.Now, cache: openedCache{m: make(map[string]*openedEntry)}, names: newCookieNames(opts.Name)}
	for i, k := range opts.Keys {
		switch len(k) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("logtohttp: cookie key %d has %d bytes; want 16, 24 or 32", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("logtohttp: cookie key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("logtohttp: cookie key %d: %w", i, err)
		}
		c.aeads = append(c.aeads, aead)
	}
	opts.Keys = nil // not kept: the AEADs are all that is needed
	c.opts = opts
	// Binding the name makes a value copied from another cookie unreadable.
	c.aad = []byte("logtohttp session v1\x00" + opts.Name)
	// The longest chunk: prefixed name.9, the "N." count prefix, Secure.
	longest := opts.cookie(c.names.host[maxChunks-1], "", int(opts.MaxAge/time.Second), true)
	c.chunkLen = (maxCookieLen - len(longest) - len("10.")) / 4 * 4
	limit := c.headerBytes(&c.names.host, maxChunks*c.chunkLen)
	switch c.maxBytes = opts.MaxBytes; {
	case c.maxBytes == 0:
		c.maxBytes = DefaultMaxCookieBytes
	case c.maxBytes < minCookieBytes || c.maxBytes > limit:
		return nil, fmt.Errorf("logtohttp: CookieOptions.MaxBytes is %d; it must be between %d and %d (ten cookies)", c.maxBytes, minCookieBytes, limit)
	}
	return c, nil
}

// chunks returns how many cookies a sealed text of encLen bytes needs.
func (c *CookieSessions) chunks(encLen int) int {
	return (encLen + c.chunkLen - 1) / c.chunkLen
}

// headerBytes returns the Cookie header bytes of a sealed text of encLen
// bytes split into cookies named by names: each "name=value", the count
// prefix "N." of the first, and the "; " separators.
func (c *CookieSessions) headerBytes(names *chunkNames, encLen int) int {
	n := c.chunks(encLen)
	size := encLen + len(strconv.Itoa(n)) + 1 + 2*(n-1)
	for i := range min(n, maxChunks) {
		size += len(names[i]) + 1
	}
	return size
}

func (c *CookieSessions) load(r *http.Request, secure bool) (loadedSession, error) {
	var vals [maxChunks]string
	present := scanCookies(r, c.names.of(c.opts.secure(secure))[0], &vals)
	return c.loadChunks(&vals, present), nil
}

// loadChunks reads the session of the chunks a request carried.
func (c *CookieSessions) loadChunks(vals *[maxChunks]string, present uint32) loadedSession {
	if present == 0 {
		return loadedSession{}
	}
	e := c.open(vals, present)
	if e == nil || c.denied.denies(e) {
		return loadedSession{present: present, invalid: true}
	}
	return loadedSession{values: e.values, present: present}
}

func (c *CookieSessions) save(w http.ResponseWriter, _ *http.Request, prev *loadedSession, values map[string]string, opts saveOptions) error {
	secure := c.opts.secure(opts.secure)
	names := c.names.of(secure)
	var chunks []string
	var problem error
	if len(values) > 0 {
		var enc string
		enc, values, problem = c.fit(names, trackTokenOrder(prev.values, values))
		if problem != nil && !savedAnyway(problem) {
			return problem
		}
		for len(enc) > 0 {
			n := min(c.chunkLen, len(enc))
			chunks = append(chunks, enc[:n])
			enc = enc[n:]
		}
	}
	hdr := w.Header()
	maxAge := int(c.opts.MaxAge / time.Second)
	var present uint32
	for i, v := range chunks {
		if i == 0 {
			v = strconv.Itoa(len(chunks)) + "." + v
			chunks[0] = v
		}
		hdr.Add("Set-Cookie", c.opts.cookie(names[i], v, maxAge, secure))
		present |= 1 << i
	}
	if len(chunks) > 0 {
		// The browser sends these cookies back next: no need to decrypt.
		c.cache.put(chunks, values, c.now().Add(c.opts.MaxAge).Unix())
	}
	cleared := false
	for i := len(chunks); i < maxChunks; i++ {
		if prev.present&(1<<i) != 0 {
			hdr.Add("Set-Cookie", c.opts.cookie(names[i], "", -1, secure))
			cleared = true
		}
	}
	if len(chunks) > 0 || cleared {
		markPrivate(hdr)
	}
	prev.present, prev.invalid = present, false
	return problem
}

// scanCookies finds the chunks of the named session in r's Cookie headers
// without allocating; the first occurrence of a name wins. It returns the
// bit set of the chunks found.
func scanCookies(r *http.Request, name string, vals *[maxChunks]string) uint32 {
	present, _ := scanPair(r, name, vals, "", nil)
	return present
}

// scanPair is scanCookies for two sessions at once: name's chunks into
// vals, and name2's into vals2 when it is not nil.
func scanPair(r *http.Request, name string, vals *[maxChunks]string, name2 string, vals2 *[maxChunks]string) (present, present2 uint32) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if i := chunkIndex(n, name); i >= 0 {
				if present&(1<<i) == 0 {
					vals[i] = v
					present |= 1 << i
				}
			} else if vals2 != nil {
				if i := chunkIndex(n, name2); i >= 0 && present2&(1<<i) == 0 {
					vals2[i] = v
					present2 |= 1 << i
				}
			}
		}
	}
	return present, present2
}

// chunkIndex returns i when n is name (0) or name.i, else -1.
func chunkIndex(n, name string) int {
	if n == name {
		return 0
	}
	if len(n) != len(name)+2 || n[:len(name)] != name || n[len(name)] != '.' {
		return -1
	}
	d := n[len(name)+1]
	if d < '1' || d > '9' || int(d-'0') >= maxChunks {
		return -1
	}
	return int(d - '0')
}
