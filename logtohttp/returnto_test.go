package logtohttp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileReturnTo are return_to values that must never become a redirect
// target: each either leaves the origin in some browser or proxy, or is
// malformed.
var hostileReturnTo = []string{
	"",
	"//evil.example",
	"///evil.example",
	"////evil.example/path",
	"/\\evil.example",
	"\\\\evil.example",
	"\\/evil.example",
	"/\\/evil.example",
	"https://evil.example",
	"http://evil.example/",
	"HTTPS://evil.example",
	"http:evil.example",
	"//evil.example@good.example",
	"javascript:alert(1)",
	"JavaScript:alert(document.cookie)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"evil.example",
	"evil.example/path",
	"./relative",
	"../relative",
	"?x=1",
	"#fragment",
	" /leading-space",
	"/%2f%2fevil.example",
	"/%2F%2Fevil.example",
	"/%2fevil.example",
	"%2f%2fevil.example",
	"/%5c%5cevil.example",
	"/%5Cevil.example",
	"/%252f%252fevil.example",
	"/\t/evil.example",
	"/\n/evil.example",
	"/\r\n/evil.example",
	"/%09/evil.example",
	"/%0d%0aSet-Cookie:x=y",
	"/\r\nSet-Cookie: x=y",
	"/\x00",
	"/path\x7f",
	"/%00",
	"/%7F",
	"/ /evil.example",
	"/caf\u00e9",
	"/\uff0f\uff0fevil.example",
	"/\u2215\u2215evil.example",
	"/%",
	"/%2",
	"/%zz",
	"/" + strings.Repeat("a", maxReturnToLen),
}

func TestSafeReturnToRejectsHostileInput(t *testing.T) {
	require.GreaterOrEqual(t, len(hostileReturnTo), 15)
	for _, p := range hostileReturnTo {
		assert.False(t, safeReturnTo(p), "%q must be refused", p)
	}
}

func TestSafeReturnToAcceptsPaths(t *testing.T) {
	for _, p := range []string{
		"/",
		"/protected",
		"/protected/page?x=1&y=%2B#top",
		"/a/b/c/",
		"/caf%C3%A9",
		"/search?q=a+b",
		"/@user",
		"/.well-known/thing",
		"/a//b",
		"/" + strings.Repeat("a", maxReturnToLen-1),
	} {
		assert.True(t, safeReturnTo(p), "%q must be accepted", p)
	}
}

// TestHostileReturnToFallsBackToDefault runs the whole sign-in with each
// hostile return_to and checks where the browser lands.
func TestHostileReturnToFallsBackToDefault(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *Config) { c.DefaultReturnTo = "/protected/home" }})
	b := noRedirects(e.browser())
	for _, p := range hostileReturnTo {
		resp, err := b.Get(e.app.URL + "/sign-in?return_to=" + url.QueryEscape(p))
		require.NoError(t, err)
		resp.Body.Close()
		cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
		require.NoError(t, err)
		resp, err = b.Get(cb)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, "%q", p)
		assert.Equal(t, "/protected/home", resp.Header.Get("Location"), "%q", p)
	}
}

func TestReturnToEntries(t *testing.T) {
	const now = 1_700_000_000
	raw := ""
	for i := range maxPendingReturnTo + 2 {
		raw = addReturnTo(raw, "state"+string(rune('a'+i)), "/p"+string(rune('a'+i)), now)
	}
	assert.Len(t, decodeReturnTo(raw, now), maxPendingReturnTo)
	p, rest := takeReturnTo(raw, "statea", now)
	assert.Empty(t, p, "the oldest entry was dropped")
	assert.Equal(t, raw, rest)
	p, rest = takeReturnTo(raw, "stated", now)
	assert.Equal(t, "/pd", p)
	assert.Len(t, decodeReturnTo(rest, now), maxPendingReturnTo-1)
	p, _ = takeReturnTo(raw, "", now)
	assert.Empty(t, p)
	p, rest = takeReturnTo("not json", "x", now)
	assert.Empty(t, p)
	assert.Empty(t, rest)

	// Entries of abandoned sign-ins expire with them.
	p, rest = takeReturnTo(raw, "stated", now+returnToTTL+1)
	assert.Empty(t, p)
	assert.Empty(t, rest)
	raw = addReturnTo(raw, "new", "/new", now+returnToTTL+1)
	assert.Len(t, decodeReturnTo(raw, now+returnToTTL+1), 1)
}
