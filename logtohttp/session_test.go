package logtohttp

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestSessionWrittenBeforeHeaders checks that a session change made
// before the handler starts its response reaches the browser however the
// handler starts it.
func TestSessionWrittenBeforeHeaders(t *testing.T) {
	starts := map[string]func(w http.ResponseWriter){
		"Write":              func(w http.ResponseWriter) { _, _ = w.Write([]byte("body")) },
		"WriteHeader":        func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) },
		"Flush":              func(w http.ResponseWriter) { w.(http.Flusher).Flush() },
		"ResponseController": func(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() },
		"nothing":            func(http.ResponseWriter) {},
		"1xx then Write": func(w http.ResponseWriter) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = w.Write([]byte("body"))
		},
		"http.Error": func(w http.ResponseWriter) { http.Error(w, "nope", http.StatusBadRequest) },
	}
	for _, kind := range sessionKinds {
		for name, start := range starts {
			t.Run(kind+"/"+name, func(t *testing.T) {
				e := newEnv(t, envOptions{kind: kind})
				e.mux.Handle("/write", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					require.NoError(t, e.h.Client(r).Storage().Set(r.Context(), "k", "v"))
					start(w)
				})))
				b := e.browser()
				resp, _ := e.get(b, "/write")
				assert.NotEmpty(t, setCookies(resp.Header))
				// The next request reads it back.
				e.mux.Handle("/read", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					v, err := e.h.Client(r).Storage().Get(r.Context(), "k")
					require.NoError(t, err)
					_, _ = w.Write([]byte(v))
				})))
				_, body := e.get(b, "/read")
				assert.Equal(t, "v", body)
			})
		}
	}
}

// TestRefreshThenWriteBody refreshes an expired access token in a handler
// that then writes its body: the rotated tokens reach the cookie.
func TestRefreshThenWriteBody(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			e.mux.Handle("/call-api", e.h.RequireAuth(AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, err := e.h.Client(r).GetAccessToken(r.Context(), testAPI)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				_, _ = w.Write([]byte(tok[:10]))
			})))
			b := e.browser()
			e.signIn(b, "")
			resp, _ := e.get(b, "/call-api")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			n := e.idp.RequestCount(logtotest.EndpointToken)
			resp, _ = e.get(b, "/call-api")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, n, e.idp.RequestCount(logtotest.EndpointToken), "cached")

			e.idp.Advance(2 * time.Hour)
			resp, _ = e.get(b, "/call-api")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, n+1, e.idp.RequestCount(logtotest.EndpointToken), "refreshed")
			assert.NotEmpty(t, setCookies(resp.Header))
			resp, _ = e.get(b, "/call-api")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, n+1, e.idp.RequestCount(logtotest.EndpointToken), "the refreshed token was saved")
		})
	}
}

func TestSessionChangeAfterBodyIsLoggedAndLost(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.mux.Handle("/late", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("body"))
		_ = e.h.Client(r).Storage().Set(r.Context(), "k", "v")
	})))
	resp, _ := e.get(e.browser(), "/late")
	assert.Empty(t, setCookies(resp.Header))
	assert.Contains(t, e.logs.String(), "the session changed after its cookies were sent")

	// Without any Sessions middleware, Client still reads and warns on writes.
	r := request(http.MethodGet, "/", "")
	c := e.h.Client(r)
	assert.False(t, c.IsAuthenticated(r.Context()))
	require.NoError(t, c.Storage().Set(r.Context(), "k", "v"))
	assert.NotSame(t, c, e.h.Client(r), "a detached view is made per call")
}

func TestSessionWriterHijack(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.mux.Handle("/ws", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		_ = buf.Flush()
	})))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.app.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, _ = conn.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
