package logtotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// maxBodyBytes caps every request body.
const maxBodyBytes = 1 << 20

// middleware wraps the endpoints: it reads the (capped) body, records the
// request, answers CORS preflights, then applies FailNext and Intercept.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := endpointFor(r.URL.Path)
		if r.Body == nil { // requests built in-process (Authorize) may have none
			r.Body = http.NoBody
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.record(ep, r, body)
		if err != nil {
			writeOAuthError(w, r, errorf(http.StatusRequestEntityTooLarge, "invalid_request", "request body too large or unreadable"))
			return
		}
		if allowCORS(w, r) {
			return
		}
		if ch := s.stall(ep); ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
		if f, ok := s.popFailure(ep); ok {
			f.write(w)
			return
		}
		s.mu.Lock()
		hook := s.intercepts[ep]
		s.mu.Unlock()
		if hook != nil {
			hook(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowCORS lets browsers (single-page demo apps) call the endpoints from any
// origin. It reports whether the request was a preflight it answered.
func allowCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// readBody returns the parameters of a POST body (form or JSON). The body was
// already capped by the middleware, but handlers may be reached through an
// Intercept hook with another body, so it is capped again.
func readBody(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if r.Body == nil {
		return url.Values{}, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "request body too large or unreadable")
	}
	v, err := parseBody(r.Header.Get("Content-Type"), data)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_request", "could not parse the request body: "+err.Error())
	}
	return v, nil
}

// parseBody decodes a form-urlencoded or JSON request body into values.
func parseBody(contentType string, data []byte) (url.Values, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return url.Values{}, nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/json" {
		return url.ParseQuery(string(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("JSON body must be an object")
	}
	v := url.Values{}
	for k, val := range obj {
		items, ok := val.([]any)
		if !ok {
			items = []any{val}
		}
		for _, it := range items {
			if str, ok := jsonScalar(it); ok {
				v.Add(k, str)
			}
		}
	}
	return v, nil
}

// jsonScalar renders a decoded JSON scalar as a parameter value.
func jsonScalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// duplicateParam reports the first parameter given more than once, ignoring
// the names in except.
func duplicateParam(v url.Values, except ...string) string {
	for k, vals := range v {
		if len(vals) > 1 && !contains(except, k) {
			return k
		}
	}
	return ""
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
