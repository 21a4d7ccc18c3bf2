package logtohttp

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturnTo: a return_to path the validator accepts never sends the
// browser to another origin, however a browser or a proxy reads it.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{
		"/", "/dashboard?tab=1#top", "//evil.example", "/\\evil.example", "/\t/evil.example",
		"/%2F%2Fevil.example", "/%5Cevil.example", "https://evil.example", "javascript:alert(1)",
		"/caf%C3%A9", "/%252F", "/a/../..//evil.example", "", "/\u00e9", "/%0a/evil",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/base/")
	f.Fuzz(func(t *testing.T, p string) {
		if !safeReturnTo(p) {
			return
		}
		// What browsers do before resolving a Location: strip tabs and
		// newlines, read backslashes as slashes.
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(p)
		// What a proxy or framework may do: decode the path once.
		decoded, err := url.PathUnescape(p)
		if err != nil {
			decoded = p
		}
		for _, v := range []string{p, browser, decoded, strings.ReplaceAll(decoded, "\\", "/")} {
			u, err := url.Parse(v)
			if err != nil {
				continue
			}
			if u.Scheme != "" || u.Host != "" || u.User != nil {
				t.Fatalf("accepted %q, read as %q: leaves the site", p, v)
			}
			if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
				t.Fatalf("accepted %q resolves to %s", p, r)
			}
		}
		if len(p) > maxReturnToLen || p[0] != '/' || strings.HasPrefix(p, "//") {
			t.Fatalf("accepted %q", p)
		}
	})
}
