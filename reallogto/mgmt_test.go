package reallogto

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// mgmt calls the real server's Management API with the bootstrap M2M
// credential of the fixtures, through the SDK's own M2M client.
type mgmt struct {
	endpoint string
	f        *fixtures

	mu   sync.Mutex
	http *http.Client
}

var (
	mgmtOnce sync.Once
	mgmtAPI  *mgmt
	mgmtErr  error
)

func managementAPI(t *testing.T, f *fixtures) *mgmt {
	t.Helper()
	mgmtOnce.Do(func() {
		mgmtAPI = &mgmt{endpoint: f.Endpoint, f: f}
		mgmtErr = mgmtAPI.renew()
	})
	require.NoError(t, mgmtErr)
	return mgmtAPI
}

// renew starts over with a new M2M client (and so a new token). After the
// signing key that signed the cached token is removed, Logto's own
// Management API refuses that token (401 ERR_JWKS_NO_MATCHING_KEY) though
// it has not expired.
func (m *mgmt) renew() error {
	m2m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint:  m.f.Endpoint,
		AppId:     m.f.ManagementAPI.BootstrapAppID,
		AppSecret: m.f.ManagementAPI.BootstrapAppSecret,
		Resource:  m.f.ManagementAPI.Resource,
		Scopes:    []string{m.f.ManagementAPI.Scope},
	}, logto.WithHTTPClient(&http.Client{Timeout: 20 * time.Second}))
	if err != nil {
		return err
	}
	m.mu.Lock()
	// The client outlives the test that created it: its context must too.
	m.http = m2m.HTTPClient(context.Background())
	m.mu.Unlock()
	return nil
}

func (m *mgmt) client() *http.Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.http
}

// call sends a Management API request and decodes a JSON answer into out
// (when not nil). It fails the test unless the status is one of want
// (default: any 2xx).
func (m *mgmt) call(t *testing.T, method, path string, body, out any, want ...int) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, m.endpoint+"/api"+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client().Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	require.NoError(t, err)
	ok := resp.StatusCode/100 == 2
	if len(want) > 0 {
		ok = false
		for _, w := range want {
			ok = ok || resp.StatusCode == w
		}
	}
	require.True(t, ok, "%s /api%s: HTTP %d %s", method, path, resp.StatusCode, raw)
	if out != nil && len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, out), "%s /api%s: %s", method, path, raw)
	}
	return resp.StatusCode
}

// cleanup deletes path at the end of the test (best effort: a fixture that
// outlives a failed run has a unique name and harms no other run).
func (m *mgmt) cleanup(t *testing.T, path string) {
	t.Cleanup(func() {
		req, err := http.NewRequest(http.MethodDelete, m.endpoint+"/api"+path, nil)
		if err != nil {
			return
		}
		if resp, err := m.client().Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// unique returns a fixture name no other test or run uses.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// slug is unique() restricted to what usernames allow.
func slug(prefix string) string {
	return strings.ReplaceAll(unique(prefix), "-", "_")
}

func idOf(t *testing.T, v map[string]any) string {
	t.Helper()
	id, _ := v["id"].(string)
	require.NotEmpty(t, id, "no id in %v", v)
	return id
}
