package logtohttp

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

func TestMerge3(t *testing.T) {
	const (
		id = logto.StorageKeyIDToken
		rt = logto.StorageKeyRefreshToken
		at = logto.StorageKeyAccessTokens
	)
	base := map[string]string{id: "id1", rt: "rt1", at: "at1", "k": "v"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<deleted>" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	for _, tt := range []struct {
		name         string
		ours, theirs map[string]string
		want         map[string]string
	}{
		{"nobody changed", with(), with(), with()},
		{"they refreshed", with(), with(rt, "rt2", at, "at2"), with(rt, "rt2", at, "at2")},
		{"we refreshed", with(rt, "rt2", at, "at2"), with(), with(rt, "rt2", at, "at2")},
		{"both refreshed: theirs, whole", with(rt, "rtA", at, "atA", id, "idA"), with(rt, "rtB", at, "atB"), with(rt, "rtB", at, "atB")},
		{"our tokens and their token order never mix", with(at, "atA"), with(rt, "rtB"), with(rt, "rtB")},
		{"we cleared the tokens, they refreshed", with(rt, "<deleted>", at, "<deleted>", id, "<deleted>"), with(rt, "rt2"), with(rt, "rt2")},
		{"they refreshed, we set a key", with("x", "1"), with(rt, "rt2"), with(rt, "rt2", "x", "1")},
		{"we deleted a key they kept", with("k", "<deleted>"), with(rt, "rt2"), with(rt, "rt2", "k", "<deleted>")},
		{"they deleted a key we kept", with(), with("k", "<deleted>"), with("k", "<deleted>")},
		{"both changed a key: theirs", with("k", "ours"), with("k", "theirs"), with("k", "theirs")},
		{"they added a key", with(), with("new", "1"), with("new", "1")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, merge3(base, tt.ours, tt.theirs))
		})
	}
}

// TestStaleSaveMergesOverAnotherInstance: a request that loaded a session
// before another instance rotated its refresh token keeps the rotation
// when it saves; a record deleted meanwhile (a sign-out elsewhere) is not
// brought back.
func TestStaleSaveMergesOverAnotherInstance(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		ours    map[string]string // the stale request's values when it saves
		other   func(store *MemorySessionStore, sid string)
		want    map[string]string // the record after the save; nil: none
		cleared bool              // the save clears the cookie
	}{
		{
			name: "our change of another key lands beside their rotation",
			ours: map[string]string{logto.StorageKeyRefreshToken: "rt1", "x": "1"},
			other: func(store *MemorySessionStore, sid string) {
				require.NoError(t, store.Set(ctx, sid, SessionRecord{Values: map[string]string{logto.StorageKeyRefreshToken: "rt2"}}, time.Hour))
			},
			want: map[string]string{logto.StorageKeyRefreshToken: "rt2", "x": "1"},
		},
		{
			name: "our older refresh loses to theirs",
			ours: map[string]string{logto.StorageKeyRefreshToken: "rt-ours"},
			other: func(store *MemorySessionStore, sid string) {
				require.NoError(t, store.Set(ctx, sid, SessionRecord{Values: map[string]string{logto.StorageKeyRefreshToken: "rt2"}}, time.Hour))
			},
			want: map[string]string{logto.StorageKeyRefreshToken: "rt2"},
		},
		{
			name:    "a record deleted meanwhile stays deleted",
			ours:    map[string]string{logto.StorageKeyRefreshToken: "rt1", "x": "1"},
			other:   func(store *MemorySessionStore, sid string) { require.NoError(t, store.Delete(ctx, sid)) },
			cleared: true,
		},
		{
			name:  "no write meanwhile: ours",
			ours:  map[string]string{logto.StorageKeyRefreshToken: "rt-ours"},
			other: func(*MemorySessionStore, string) {},
			want:  map[string]string{logto.StorageKeyRefreshToken: "rt-ours"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemorySessionStore(0, 10)
			ss, err := NewServerSessions(store, CookieOptions{Keys: [][]byte{testKey}})
			require.NoError(t, err)
			id := newSessionID()
			sid := storeID(id)
			require.NoError(t, store.Set(ctx, sid, SessionRecord{Values: map[string]string{logto.StorageKeyRefreshToken: "rt1"}}, time.Hour))
			r := request(http.MethodGet, "http://app.example/", DefaultServerSessionName+"="+id)
			st, err := ss.load(r, false)
			require.NoError(t, err)
			require.Equal(t, uint64(1), st.version)

			tt.other(store, sid)
			w := newRecorder()
			require.NoError(t, ss.save(w, r, &st, tt.ours, saveOptions{}))
			rec, ok, err := store.Get(ctx, sid)
			require.NoError(t, err)
			if tt.want == nil {
				assert.False(t, ok, "the record was written back")
			} else {
				require.True(t, ok)
				assert.Equal(t, tt.want, rec.Values)
			}
			c := setCookie(w.Header(), DefaultServerSessionName)
			assert.Equal(t, tt.cleared, containsMaxAgeDelete(c), c)
		})
	}
}

func containsMaxAgeDelete(setCookie string) bool {
	c, err := http.ParseSetCookie(setCookie)
	return err == nil && c.MaxAge < 0
}
