package logtohttp

import (
	"encoding/json"
	"net/http"
	"testing"
)

func BenchmarkZZScan(b *testing.B) {
	e := newEnv(b, envOptions{})
	browser := e.browser()
	e.signIn(browser, "")
	r := request(http.MethodGet, "/", "theme=dark; "+e.cookieHeader(browser)+"; _ga=GA1.2.3")
	name := e.cookies.names.plain[0]
	b.Run("scanCookies", func(b *testing.B) {
		for b.Loop() {
			var vals [maxChunks]string
			if scanCookies(r, name, &vals)&1 == 0 {
				b.Fatal("not found")
			}
		}
	})
	b.Run("Request.Cookie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := r.Cookie(name)
			if err != nil || c.Value == "" {
				b.Fatal("not found")
			}
		}
	})
	b.Run("CookiesNamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := r.CookiesNamed(name)
			if len(c) == 0 {
				b.Fatal("not found")
			}
		}
	})
	var vals [maxChunks]string
	present := scanCookies(r, name, &vals)
	e.cookies.cache.mu.Lock()
	clear(e.cookies.cache.m)
	e.cookies.cache.mu.Unlock()
	ent := e.cookies.open(&vals, present)
	raw := encodeValues(ent.values, "")
	js, _ := json.Marshal(ent.values)
	b.Logf("binary %d json %d", len(raw), len(js))
	b.Run("decodeValues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodeValues(string(raw))
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]string
			_ = json.Unmarshal(js, &m)
		}
	})
}
