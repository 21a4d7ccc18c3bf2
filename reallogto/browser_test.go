package reallogto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browser is a user agent with its own cookie jar that never follows a
// redirect by itself: every hop is made (and can be checked) by the test,
// as Logto's sign-in page would make it. Relative Location headers are
// resolved against the request URL.
type browser struct {
	t      *testing.T
	jar    *cookiejar.Jar
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, jar: jar, client: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one response: status, resolved Location and body (bounded).
type page struct {
	url      *url.URL
	status   int
	location string
	body     []byte
	header   http.Header
}

func (p page) String() string {
	return fmt.Sprintf("%s -> HTTP %d Location %q body %.300s", p.url, p.status, p.location, p.body)
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	require.NoError(b.t, err, "%s %s", req.Method, req.URL)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(b.t, err)
	p := page{url: req.URL, status: resp.StatusCode, body: body, header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := req.URL.Parse(loc)
		require.NoError(b.t, err, "Location %q", loc)
		p.location = u.String()
	}
	return p
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) postForm(rawURL string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) sendJSON(method, rawURL string, body any) page {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, rawURL, r)
	require.NoError(b.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return b.do(req)
}

// sameOrigin reports whether a and b share scheme and host.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

var (
	formActionRe = regexp.MustCompile(`<form[^>]*\saction="([^"]*)"`)
	inputRe      = regexp.MustCompile(`<input[^>]*>`)
	attrRe       = regexp.MustCompile(`\s(name|value)="([^"]*)"`)
)

// parseForm reads the first form of an HTML page: its action (resolved)
// and its named inputs. Both Logto's logout page and logtotest's are
// simple enough for this.
func parseForm(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	m := formActionRe.FindSubmatch(p.body)
	require.NotNil(t, m, "no form in %s", p)
	action, err := p.url.Parse(html.UnescapeString(string(m[1])))
	require.NoError(t, err)
	form := url.Values{}
	for _, in := range inputRe.FindAll(p.body, -1) {
		var name, value string
		for _, a := range attrRe.FindAllSubmatch(in, -1) {
			switch string(a[1]) {
			case "name":
				name = html.UnescapeString(string(a[2]))
			case "value":
				value = html.UnescapeString(string(a[2]))
			}
		}
		if name != "" {
			form.Set(name, value)
		}
	}
	return action.String(), form
}

// endSession opens an end-session URL the SDK returned, submits the logout
// form the provider renders (xsrf, logout=yes) as the page's script would,
// and returns where the provider sent the browser.
func (b *browser) endSession(t *testing.T, endSessionURL string) string {
	t.Helper()
	p := b.get(endSessionURL)
	if p.status == http.StatusSeeOther || p.status == http.StatusFound {
		return p.location
	}
	require.Equal(t, http.StatusOK, p.status, "end session page: %s", p)
	action, form := parseForm(t, p)
	require.NotEmpty(t, form.Get("xsrf"), "logout form without xsrf: %s", p)
	form.Set("logout", "yes")
	done := b.postForm(action, form)
	require.Equal(t, http.StatusSeeOther, done.status, "logout confirm: %s", done)
	return done.location
}
