package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"syscall"
	"time"
)

// front is the round-robin load balancer in front of the instances: a
// request goes to the next instance, or the one after when that one does
// not accept connections (killed).
type front struct {
	url string
	srv *http.Server
}

type roundRobin struct {
	backends []string
	next     atomic.Uint64
	base     *http.Transport
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	var err error
	for range rr.backends {
		b := rr.backends[rr.next.Add(1)%uint64(len(rr.backends))]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host = "http", b
		var resp *http.Response
		if resp, err = rr.base.RoundTrip(out); err == nil {
			return resp, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || req.Body != nil && req.Body != http.NoBody {
			return nil, err
		}
	}
	return nil, err
}

func startFront(backends []string) (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rr := &roundRobin{backends: backends, base: &http.Transport{
		MaxIdleConns: 4096, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext,
	}}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.Host = r.In.Host },
		Transport: rr,
		ErrorLog:  nil,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	f := &front{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *front) close() { _ = f.srv.Close() }
