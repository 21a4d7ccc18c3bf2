package logtohttp

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gologto/logto"
)

// maxReturnToLen bounds a return_to path; longer values fall back to the
// default.
const maxReturnToLen = 2048

// safeReturnTo reports whether p may be used as the Location of a redirect
// without leaving the site: a path that starts with exactly one slash and
// holds only printable ASCII, no backslash and no percent-encoded slash,
// backslash or control character. Browsers treat "//host", "/\host" and,
// after stripping tabs and newlines, "/\t/host" as another origin; encoded
// slashes are decoded by some proxies and frameworks. Anything doubtful is
// refused, and the caller uses its default instead.
func safeReturnTo(p string) bool {
	if len(p) == 0 || len(p) > maxReturnToLen || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c <= ' ' || c >= 0x7f || c == '\\':
			// Control characters, space, DEL, non-ASCII and backslash.
			return false
		case c == '%':
			if i+2 >= len(p) {
				return false
			}
			hi, lo := unhex(p[i+1]), unhex(p[i+2])
			if hi < 0 || lo < 0 {
				return false
			}
			switch b := byte(hi<<4 | lo); {
			case b == '/' || b == '\\' || b == '%' || b <= ' ' || b == 0x7f:
				// Encoded slashes and backslashes, double encoding and
				// encoded controls. Encoded UTF-8 (%C3%A9) is fine.
				return false
			}
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// storageKeyReturnTo is the session key under which the pending sign-ins'
// return_to paths are kept, next to the SDK's own keys.
const storageKeyReturnTo = "logtohttp.returnTo"

// maxPendingReturnTo bounds the remembered return_to paths, one per
// pending sign-in (browser tab); the oldest is dropped beyond it, as the
// core SDK drops pending sign-ins beyond logto.DefaultMaxPendingSignIns.
const maxPendingReturnTo = logto.DefaultMaxPendingSignIns

// returnToEntry maps the state of one pending sign-in to its return_to.
type returnToEntry struct {
	State   string `json:"s"`
	Path    string `json:"p"`
	Created int64  `json:"t"` // unix seconds
}

// returnToTTL is how long an entry is kept: a pending sign-in expires
// after logto.DefaultTransactionTTL.
const returnToTTL = int64(logto.DefaultTransactionTTL / time.Second)

// decodeReturnTo returns the entries of raw that are still live at now.
func decodeReturnTo(raw string, now int64) []returnToEntry {
	if raw == "" {
		return nil
	}
	var entries []returnToEntry
	if json.Unmarshal([]byte(raw), &entries) != nil {
		return nil
	}
	live := entries[:0]
	for _, e := range entries {
		if now-e.Created <= returnToTTL && e.Created <= now+60 {
			live = append(live, e)
		}
	}
	return live
}

func encodeReturnTo(entries []returnToEntry) string {
	if len(entries) == 0 {
		return ""
	}
	b, _ := json.Marshal(entries)
	return string(b)
}

// addReturnTo remembers path for state, keeping the newest live entries.
func addReturnTo(raw, state, path string, now int64) string {
	entries := decodeReturnTo(raw, now)
	entries = append(entries, returnToEntry{State: state, Path: path, Created: now})
	if len(entries) > maxPendingReturnTo {
		entries = entries[len(entries)-maxPendingReturnTo:]
	}
	return encodeReturnTo(entries)
}

// takeReturnTo returns the path remembered for state ("" if none) and the
// remaining live entries ("" if none).
func takeReturnTo(raw, state string, now int64) (path, rest string) {
	entries := decodeReturnTo(raw, now)
	out := entries[:0]
	for _, e := range entries {
		if state != "" && e.State == state && path == "" {
			path = e.Path
			continue
		}
		out = append(out, e)
	}
	return path, encodeReturnTo(out)
}

// trimPath drops trailing slashes of a base URL path ("/" becomes "").
func trimPath(p string) string { return strings.TrimRight(p, "/") }
