package logtohttp

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The sealed form of a cookie session.
const (
	// maxPlainLen bounds a decompressed session.
	maxPlainLen = 256 << 10

	formatVersion = 1
	flagDeflate   = 1
	nonceLen      = 12
	headerLen     = 1 + 8 // flags, expiry (unix seconds)
)

var strictBase64 = base64.RawURLEncoding.Strict()

// seal serialises, compresses and encrypts values, and returns the
// base64url text. The plaintext is
//
//	flags | expiry (8 bytes) | uvarint len(A) | uvarint len(A') | A' | B
//
// where A is the encoding of every value but return_to, A' is A or its
// deflate form (flags bit 0), and B the encoding of return_to, never
// compressed: compressing a value an attacker chooses in the same stream
// as the tokens would let the cookie's length leak the tokens
// (CRIME/BREACH). The length-prefixed pairs decode in about a tenth of
// the time encoding/json takes for the same values (1.7 µs against 15 µs
// for a signed-in session), which is what a browser's first request to
// an instance pays on top of inflate.
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

// open reverses seal for the chunks a request carried, through the cache
// of recently seen cookies; it returns nil for anything unreadable or
// expired.
func (c *CookieSessions) open(vals *[maxChunks]string, present uint32) *openedEntry {
	count, first, ok := chunkCount(vals, present)
	if !ok {
		return nil
	}
	now := c.now()
	if e := c.cache.get(vals, count, now); e != nil {
		return e
	}
	values, expires, ok := c.unseal(vals, present, count, first, now.Unix())
	if !ok {
		return nil
	}
	return c.cache.put(vals[:count], values, time.Unix(expires, 0), now)
}

// chunkCount reads the "N." prefix of the first chunk: the number of
// chunks, and the first chunk's text after it.
func chunkCount(vals *[maxChunks]string, present uint32) (int, string, bool) {
	if present&1 == 0 {
		return 0, "", false
	}
	countStr, first, ok := strings.Cut(vals[0], ".")
	count, err := strconv.Atoi(countStr)
	if !ok || err != nil || count < 1 || count > maxChunks || len(countStr) > 2 {
		return 0, "", false
	}
	return count, first, true
}

// unseal decodes, decrypts and parses count chunks, refusing them once
// expired at now.
func (c *CookieSessions) unseal(vals *[maxChunks]string, present uint32, count int, first string, now int64) (map[string]string, int64, bool) {
	sealed, ok := joinChunks(vals, present, count, first)
	if !ok {
		return nil, 0, false
	}
	plain, ok := c.decrypt(sealed)
	if !ok {
		return nil, 0, false
	}
	return parsePlain(plain, now)
}

// joinChunks decodes the base64url text of count chunks (the first
// without its count prefix) into one byte slice.
func joinChunks(vals *[maxChunks]string, present uint32, count int, first string) ([]byte, bool) {
	chunk := func(i int) string {
		if i == 0 {
			return first
		}
		return vals[i]
	}
	total := 0
	for i := range count {
		v := chunk(i)
		// Every chunk but the last holds whole base64 quanta.
		if present&(1<<i) == 0 || (i < count-1 && len(v)%4 != 0) || len(v) > maxCookieLen {
			return nil, false
		}
		total += len(v)
	}
	buf := make([]byte, base64.RawURLEncoding.DecodedLen(total))
	off := 0
	for i := range count {
		// Strict: a non-canonical encoding of the same bytes is refused.
		n, err := strictBase64.Decode(buf[off:], []byte(chunk(i)))
		if err != nil {
			return nil, false
		}
		off += n
	}
	return buf[:off], true
}

// decrypt opens a sealed value with the first key that authenticates it.
func (c *CookieSessions) decrypt(sealed []byte) ([]byte, bool) {
	if len(sealed) < 1+nonceLen || sealed[0] != formatVersion {
		return nil, false
	}
	nonce, ct := sealed[1:1+nonceLen], sealed[1+nonceLen:]
	for i, aead := range c.aeads {
		dst := ct[:0] // in place, when no other key will need ct
		if i < len(c.aeads)-1 {
			dst = nil
		}
		if p, err := aead.Open(dst, nonce, ct, c.aad); err == nil {
			return p, len(p) >= headerLen
		}
	}
	return nil, false
}

// parsePlain reads the plaintext seal wrote, refusing it once expired.
func parsePlain(plain []byte, now int64) (map[string]string, int64, bool) {
	flags := plain[0]
	expires := int64(binary.BigEndian.Uint64(plain[1:headerLen]))
	if expires <= now {
		return nil, 0, false
	}
	rest := plain[headerLen:]
	rawLen, n := binary.Uvarint(rest)
	if n <= 0 || rawLen > maxPlainLen {
		return nil, 0, false
	}
	rest = rest[n:]
	bodyLen, n := binary.Uvarint(rest)
	if n <= 0 || bodyLen > uint64(len(rest)-n) {
		return nil, 0, false
	}
	body, tail := rest[n:n+int(bodyLen)], rest[n+int(bodyLen):]
	// One buffer for both parts: their encodings concatenate.
	out := make([]byte, int(rawLen)+len(tail))
	switch {
	case flags == 0 && uint64(len(body)) == rawLen:
		copy(out, body)
	case flags == flagDeflate && inflate(out[:rawLen], body) == nil:
	default:
		return nil, 0, false
	}
	copy(out[rawLen:], tail)
	values, ok := decodeValues(string(out))
	return values, expires, ok
}

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
	n, k := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen32)]))
	if k <= 0 || n > uint64(len(s)-k) {
		return "", "", false
	}
	s = s[k:]
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
