package logtocli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBrowserCommand: the opener of each system, the URL one argument
// (no shell: a URL with & or ; stays one argument).
func TestBrowserCommand(t *testing.T) {
	const u = "https://logto.example/oidc/auth?a=1&b=2;c"
	for _, tc := range []struct {
		goos string
		name string
		args []string
	}{
		{"darwin", "open", []string{u}},
		{"windows", "rundll32", []string{"url.dll,FileProtocolHandler", u}},
		{"linux", "xdg-open", []string{u}},
		{"freebsd", "xdg-open", []string{u}},
	} {
		name, args := browserCommand(tc.goos, u)
		assert.Equal(t, tc.name, name, tc.goos)
		assert.Equal(t, tc.args, args, tc.goos)
	}
}

// TestOpenSystemBrowserRefuses: only http(s) URLs reach the opener.
func TestOpenSystemBrowserRefuses(t *testing.T) {
	for _, u := range []string{"", "file:///etc/passwd", "javascript:alert(1)", "-flag", "https://", "ms-settings:"} {
		assert.Error(t, OpenSystemBrowser(u), u)
	}
}

// TestResultPage: each outcome has a sentence, never an error chain.
func TestResultPage(t *testing.T) {
	assert.Equal(t, "bad_codescript", safeCode("bad_code<script>"), "only code characters stay")
	assert.Equal(t, "unknown error", safeCode("<>"))
	p := resultPage("", nil)
	assert.True(t, p.OK)
	assert.Contains(t, p.Message, "return to the application")
}
