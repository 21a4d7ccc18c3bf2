package logtohttp

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSessionMaxAge is the default session lifetime: 14 days, Logto's
// default refresh token lifetime.
const DefaultSessionMaxAge = 14 * 24 * time.Hour

// Default cookie names.
const (
	DefaultCookieSessionName = "logto_session"
	DefaultServerSessionName = "logto_sid"
)

const (
	// maxCookieLen bounds each Set-Cookie header value (name, value and
	// attributes), below the 4096 bytes browsers guarantee.
	maxCookieLen = 4000
	// maxChunks bounds how many cookies one session may use.
	maxChunks = 10
	// maxPlainLen bounds a decompressed session.
	maxPlainLen = 256 << 10

	formatVersion = 1
	flagDeflate   = 1
	nonceLen      = 12
	headerLen     = 1 + 8 // flags, expiry (unix seconds)
)

// CookieOptions configure the session cookie of NewCookieSessions and
// NewServerSessions. Cookies are always HttpOnly, SameSite=Lax, Path=/ and
// host-only (no Domain).
type CookieOptions struct {
	// Name of the cookie; chunks of a large cookie session are named
	// Name.1, Name.2, … Default "logto_session" for cookie sessions and
	// "logto_sid" for server sessions.
	Name string

	// Keys encrypt cookie sessions with AES-GCM; each is 16, 24 or 32
	// random bytes (AES-128, -192, -256). The first encrypts, all decrypt:
	// to rotate, put a new key first and drop the old one after MaxAge.
	// Required by NewCookieSessions, ignored by NewServerSessions.
	Keys [][]byte

	// MaxAge bounds a session's life after its last change (the cookie's
	// Max-Age, and an expiry inside the encrypted value or the store's
	// TTL). Default DefaultSessionMaxAge.
	MaxAge time.Duration

	// Secure sets the Secure attribute. nil (the default) means on, except
	// when the public base URL is plain http on localhost, 127.0.0.0/8 or
	// [::1], where browsers would drop a Secure cookie.
	Secure *bool
}

func (o CookieOptions) normalize(defaultName string) (CookieOptions, error) {
	if o.Name == "" {
		o.Name = defaultName
	}
	if (&http.Cookie{Name: o.Name + ".9", Value: "x"}).Valid() != nil || strings.ContainsAny(o.Name, "=;, \t") {
		return o, fmt.Errorf("logtohttp: invalid cookie name %q", o.Name)
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultSessionMaxAge
	}
	if o.MaxAge < time.Second {
		return o, errors.New("logtohttp: CookieOptions.MaxAge must be at least one second")
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

func (o CookieOptions) secure(opts saveOptions) bool {
	if o.Secure != nil {
		return *o.Secure
	}
	return opts.secure
}

// CookieSessions keeps the whole session in the browser: serialised,
// compressed, encrypted and authenticated with AES-GCM, split into cookies
// under 4 KB each (Name, Name.1, …, up to 10). It needs no server state
// and survives restarts and load balancing; its cost is the cookie bytes
// sent with every request. A cookie that is tampered with, truncated,
// expired, or encrypted with an unknown key reads as signed out.
type CookieSessions struct {
	opts  CookieOptions
	aeads []cipher.AEAD
	aad   []byte
	now   func() time.Time
	// chunkLen is the base64 capacity of one cookie, a multiple of 4.
	chunkLen int
	// cache maps recently seen cookie values to their decrypted sessions.
	cache openedCache
}

// NewCookieSessions returns cookie sessions encrypted with opts.Keys.
func NewCookieSessions(opts CookieOptions) (*CookieSessions, error) {
	opts, err := opts.normalize(DefaultCookieSessionName)
	if err != nil {
		return nil, err
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("logtohttp: CookieOptions.Keys needs at least one key (16, 24 or 32 random bytes)")
	}
	c := &CookieSessions{opts: opts, now: time.Now, cache: openedCache{m: make(map[string]*openedEntry)}}
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
	// The longest chunk: name.9, the "N." count prefix, Secure attribute.
	longest := opts.cookie(opts.Name+"."+strconv.Itoa(maxChunks-1), "", int(opts.MaxAge/time.Second), true)
	c.chunkLen = (maxCookieLen - len(longest) - len("10.")) / 4 * 4
	return c, nil
}

func (c *CookieSessions) load(r *http.Request) (loadedSession, error) {
	var vals [maxChunks]string
	present := scanCookies(r, c.opts.Name, &vals)
	if present == 0 {
		return loadedSession{}, nil
	}
	values, ok := c.open(&vals, present)
	if !ok {
		return loadedSession{present: present, invalid: true}, nil
	}
	return loadedSession{values: values, present: present}, nil
}

func (c *CookieSessions) save(w http.ResponseWriter, _ *http.Request, prev *loadedSession, values map[string]string, opts saveOptions) error {
	secure := c.opts.secure(opts)
	var chunks []string
	if len(values) > 0 {
		enc := c.seal(values)
		for len(enc) > 0 {
			n := min(c.chunkLen, len(enc))
			chunks = append(chunks, enc[:n])
			enc = enc[n:]
		}
		if len(chunks) > maxChunks {
			return fmt.Errorf("logtohttp: the session needs %d cookies, more than the %d allowed; use NewServerSessions", len(chunks), maxChunks)
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
		hdr.Add("Set-Cookie", c.opts.cookie(chunkName(c.opts.Name, i), v, maxAge, secure))
		present |= 1 << i
	}
	if len(chunks) > 0 {
		// The browser sends these cookies back next: no need to decrypt.
		c.cache.put(chunks, values, c.now().Add(c.opts.MaxAge).Unix())
	}
	for i := len(chunks); i < maxChunks; i++ {
		if prev.present&(1<<i) != 0 {
			hdr.Add("Set-Cookie", c.opts.cookie(chunkName(c.opts.Name, i), "", -1, secure))
		}
	}
	prev.present, prev.invalid = present, false
	return nil
}

func chunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "." + strconv.Itoa(i)
}

// scanCookies finds the chunks of the named session in r's Cookie headers
// without allocating; the first occurrence of a name wins. It returns the
// bit set of the chunks found.
func scanCookies(r *http.Request, name string, vals *[maxChunks]string) uint32 {
	var present uint32
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			i := chunkIndex(n, name)
			if i < 0 || present&(1<<i) != 0 {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			vals[i] = v
			present |= 1 << i
		}
	}
	return present
}

// chunkIndex returns i when n is name (0) or name.i, else -1.
func chunkIndex(n, name string) int {
	if n == name {
		return 0
	}
	if len(n) < len(name)+2 || n[:len(name)] != name || n[len(name)] != '.' {
		return -1
	}
	d := n[len(name)+1:]
	if len(d) != 1 || d[0] < '1' || d[0] > '9' || int(d[0]-'0') >= maxChunks {
		return -1
	}
	return int(d[0] - '0')
}

// seal serialises, compresses and encrypts values, and returns the
// base64url text. The plaintext is
//
//	flags | expiry (8 bytes) | uvarint len(A) | uvarint len(A') | A' | B
//
// where A is the encoding of every value but return_to, A' is A or its
// deflate form (flags bit 0), and B the encoding of return_to, never
// compressed: compressing a value an attacker chooses in the same stream
// as the tokens would let the cookie's length leak the tokens
// (CRIME/BREACH).
func (c *CookieSessions) seal(values map[string]string) string {
	var chosen map[string]string
	if v, ok := values[storageKeyReturnTo]; ok {
		chosen = map[string]string{storageKeyReturnTo: v}
	}
	body := encodeValues(values, storageKeyReturnTo)
	rawLen := len(body)
	flags := byte(0)
	if rawLen > 256 {
		if z := deflate(body); len(z) < rawLen {
			body, flags = z, flagDeflate
		}
	}
	tail := encodeValues(chosen, "")
	plain := make([]byte, 0, headerLen+2*binary.MaxVarintLen64+len(body)+len(tail))
	plain = append(plain, flags)
	plain = binary.BigEndian.AppendUint64(plain, uint64(c.now().Add(c.opts.MaxAge).Unix()))
	plain = binary.AppendUvarint(plain, uint64(rawLen))
	plain = binary.AppendUvarint(plain, uint64(len(body)))
	plain = append(plain, body...)
	plain = append(plain, tail...)

	aead := c.aeads[0]
	out := make([]byte, 1+nonceLen, 1+nonceLen+len(plain)+aead.Overhead())
	out[0] = formatVersion
	_, _ = rand.Read(out[1:]) // never fails since Go 1.24
	out = aead.Seal(out, out[1:1+nonceLen], plain, c.aad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open reverses seal; ok is false for anything unreadable or expired.
func (c *CookieSessions) open(vals *[maxChunks]string, present uint32) (map[string]string, bool) {
	if present&1 == 0 {
		return nil, false
	}
	countStr, first, ok := strings.Cut(vals[0], ".")
	count, err := strconv.Atoi(countStr)
	if !ok || err != nil || count < 1 || count > maxChunks || len(countStr) > 2 {
		return nil, false
	}
	if values, ok := c.cache.get(vals, count, c.now().Unix()); ok {
		return values, true
	}
	total := 0
	for i := range count {
		v := vals[i]
		if i == 0 {
			v = first
		}
		// Every chunk but the last holds whole base64 quanta.
		if present&(1<<i) == 0 || (i < count-1 && len(v)%4 != 0) || len(v) > maxCookieLen {
			return nil, false
		}
		total += len(v)
	}
	buf := make([]byte, base64.RawURLEncoding.DecodedLen(total))
	off := 0
	for i := range count {
		v := vals[i]
		if i == 0 {
			v = first
		}
		// Strict: a non-canonical encoding of the same bytes is refused.
		n, err := strictBase64.Decode(buf[off:], []byte(v))
		if err != nil {
			return nil, false
		}
		off += n
	}
	buf = buf[:off]
	if len(buf) < 1+nonceLen || buf[0] != formatVersion {
		return nil, false
	}
	nonce, ct := buf[1:1+nonceLen], buf[1+nonceLen:]
	var plain []byte
	for i, aead := range c.aeads {
		dst := ct[:0] // in place, when no other key will need ct
		if i < len(c.aeads)-1 {
			dst = nil
		}
		if p, err := aead.Open(dst, nonce, ct, c.aad); err == nil {
			plain = p
			break
		}
	}
	if len(plain) < headerLen {
		return nil, false
	}
	flags := plain[0]
	expires := int64(binary.BigEndian.Uint64(plain[1:headerLen]))
	if expires <= c.now().Unix() {
		return nil, false
	}
	rest := plain[headerLen:]
	rawLen, n := binary.Uvarint(rest)
	if n <= 0 || rawLen > maxPlainLen {
		return nil, false
	}
	rest = rest[n:]
	bodyLen, n := binary.Uvarint(rest)
	if n <= 0 || bodyLen > uint64(len(rest)-n) {
		return nil, false
	}
	body, tail := rest[n:n+int(bodyLen)], rest[n+int(bodyLen):]
	// One buffer for both parts: their encodings concatenate.
	out := make([]byte, int(rawLen)+len(tail))
	switch flags {
	case 0:
		if uint64(len(body)) != rawLen {
			return nil, false
		}
		copy(out, body)
	case flagDeflate:
		if inflate(out[:rawLen], body) != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	copy(out[rawLen:], tail)
	text := string(out)
	values, ok := decodeValues(text)
	if ok {
		c.cache.put(vals[:count], values, expires)
	}
	return values, ok
}

// openedCacheBytes bounds the memory of a CookieSessions' cache of
// decrypted sessions.
const openedCacheBytes = 8 << 20

// openedCache remembers the sessions of recently seen cookie values, so
// that a browser's next requests skip base64, AES-GCM and inflate. It is
// keyed by the exact cookie text (authenticated when it was first
// decrypted, or produced by this process), and it keeps each session's
// expiry. Eviction is random once the byte bound is reached.
type openedCache struct {
	mu    sync.RWMutex
	m     map[string]*openedEntry // by the first chunk's value
	bytes int
}

type openedEntry struct {
	rest    []string // the values of chunks 1..n-1
	values  map[string]string
	expires int64
	size    int
}

func (oc *openedCache) get(vals *[maxChunks]string, count int, now int64) (map[string]string, bool) {
	oc.mu.RLock()
	e := oc.m[vals[0]]
	oc.mu.RUnlock()
	if e == nil || e.expires <= now || len(e.rest) != count-1 {
		return nil, false
	}
	for i, v := range e.rest {
		if vals[i+1] != v {
			return nil, false
		}
	}
	return e.values, true
}

func (oc *openedCache) put(chunks []string, values map[string]string, expires int64) {
	e := &openedEntry{values: values, expires: expires}
	for _, v := range chunks {
		e.size += 2 * len(v) // the text, and about as much decoded
	}
	if e.size > openedCacheBytes/16 {
		return
	}
	// Copies: the values may be slices of a request's whole Cookie header.
	key := strings.Clone(chunks[0])
	for _, v := range chunks[1:] {
		e.rest = append(e.rest, strings.Clone(v))
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if old := oc.m[key]; old != nil {
		oc.bytes -= old.size
	}
	for k, old := range oc.m {
		if oc.bytes+e.size <= openedCacheBytes {
			break
		}
		delete(oc.m, k)
		oc.bytes -= old.size
	}
	oc.m[key] = e
	oc.bytes += e.size
}

var strictBase64 = base64.RawURLEncoding.Strict()

// encodeValues serialises values but the skip key as (uvarint length,
// bytes) pairs of key and value, keys sorted.
func encodeValues(values map[string]string, skip string) []byte {
	keys := make([]string, 0, len(values))
	size := 0
	for k, v := range values {
		if k == skip && skip != "" {
			continue
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen32
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	for _, k := range keys {
		v := values[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeValues parses encodeValues' output; keys and values share text's
// memory.
func decodeValues(text string) (map[string]string, bool) {
	m := make(map[string]string, 4)
	for text != "" {
		k, rest, ok := readString(text)
		if !ok {
			return nil, false
		}
		v, rest, ok := readString(rest)
		if !ok {
			return nil, false
		}
		m[k] = v
		text = rest
	}
	return m, true
}

func readString(s string) (val, rest string, ok bool) {
	var n uint64
	for shift, i := uint(0), 0; ; shift, i = shift+7, i+1 {
		if i >= len(s) || shift > 28 {
			return "", "", false
		}
		b := s[i]
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			s = s[i+1:]
			break
		}
	}
	if n > uint64(len(s)) {
		return "", "", false
	}
	return s[:n], s[n:], true
}

type deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	d.w, _ = flate.NewWriter(&d.buf, flate.DefaultCompression)
	return d
}}

func deflate(b []byte) []byte {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.buf.Reset()
	d.w.Reset(&d.buf)
	_, _ = d.w.Write(b)
	_ = d.w.Close()
	return bytes.Clone(d.buf.Bytes())
}

type inflater struct {
	src bytes.Reader
	r   io.ReadCloser
}

var inflaters sync.Pool

func inflate(dst, src []byte) error {
	in, _ := inflaters.Get().(*inflater)
	if in == nil {
		in = new(inflater)
		in.src.Reset(src)
		in.r = flate.NewReader(&in.src)
	} else {
		in.src.Reset(src)
		if err := in.r.(flate.Resetter).Reset(&in.src, nil); err != nil {
			return err
		}
	}
	defer inflaters.Put(in)
	if _, err := io.ReadFull(in.r, dst); err != nil {
		return err
	}
	// The stream must end exactly here.
	var one [1]byte
	if n, _ := in.r.Read(one[:]); n != 0 {
		return errors.New("trailing data")
	}
	return nil
}
