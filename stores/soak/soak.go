package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtotest"
	"github.com/gologto/logto/stores/pgstore"
	"github.com/gologto/logto/stores/redisstore"
)

// instances is the number of app instances.
const instances = 3

// session is one signed-in browser.
type session struct {
	user   string
	cookie string // the Cookie header (session id)
	lost   atomic.Bool
}

// soak runs the soak against one store.
func soak(ctx context.Context, c config, storeName string, signInPar int) (*report, error) {
	r := &report{store: storeName, sessions: c.sessions, ttl: c.ttl}
	idp, err := logtotest.Start(
		logtotest.WithIDTokenTTL(c.ttl), logtotest.WithAccessTokenTTL(c.ttl),
		logtotest.WithRefreshTokenReuseInterval(c.reuse),
	)
	if err != nil {
		return nil, err
	}
	defer idp.Close()
	// Logto's clock stands still at t0 during the sign-ins: every session
	// gets tokens expiring at t0+ttl. It then follows the wall clock.
	t0 := idp.Now()

	key := make([]byte, 32)
	_, _ = crand.Read(key)
	inst := instanceConfig{idp: idp.URL(), store: storeName, key: hex.EncodeToString(key), pgDSN: c.pgDSN}
	var (
		redisProc *redisServer
		store     logtohttp.SessionStore
	)
	switch storeName {
	case "redis":
		redisProc, err = startRedis(ctx, c.redisServer)
		if err != nil {
			return nil, err
		}
		defer redisProc.stop()
		inst.redisAddr = redisProc.addr
		rdb := redis.NewClient(&redis.Options{Addr: redisProc.addr})
		defer rdb.Close()
		if store, err = redisstore.New(rdb, redisstore.Options{Prefix: "soak:"}); err != nil {
			return nil, err
		}
	case "pg":
		var b [4]byte
		_, _ = crand.Read(b[:])
		inst.pgTable = "soak_" + hex.EncodeToString(b[:])
		pool, err := pgxpool.New(ctx, c.pgDSN)
		if err != nil {
			return nil, err
		}
		defer func() {
			_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+inst.pgTable+", "+inst.pgTable+"_locks")
			pool.Close()
		}()
		if store, err = pgstore.New(ctx, pool, pgstore.Options{Table: inst.pgTable}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown store %q", storeName)
	}

	addrs := make([]string, instances)
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	front, err := startFront(addrs)
	if err != nil {
		return nil, err
	}
	defer front.close()
	inst.base = front.url
	idp.AddApp(logtotest.App{
		ID: appID, Secret: appSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{front.url + "/callback"}, RefreshTokenRotation: logtotest.RotateAlways,
	})
	for i := range c.sessions {
		idp.AddUser(logtotest.User{ID: fmt.Sprintf("user-%d", i), Username: fmt.Sprintf("user%d", i)})
	}
	procs := make([]*appProc, instances)
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i := range procs {
		cfg := inst
		cfg.addr = addrs[i]
		if procs[i], err = startApp(ctx, cfg); err != nil {
			return nil, err
		}
	}

	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	sessions, err := signIn(ctx, tr, front.url, c.sessions, signInPar)
	if err != nil {
		return nil, err
	}
	r.signInTime = time.Since(t0)
	if r.signInTime > c.ttl*4/5 {
		return nil, fmt.Errorf("the sign-ins took %v, too close to -ttl %v: raise -ttl", r.signInTime.Round(time.Millisecond), c.ttl)
	}
	signedIn, err := storedRefreshTokens(ctx, store, sessions)
	if err != nil {
		return nil, err
	}
	stopClock := followWallClock(idp)
	defer stopClock()

	// Disruptions, between the first two expiries: an instance is killed
	// (a new one starts on its port 3 s later), then the Redis server
	// restarts.
	var dis disruptions
	deadline := t0.Add(c.duration)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Once every session's refresh at the first expiry is stored (no
		// refresh in flight, none answered and not yet written: a crash
		// there loses the rotated token with the process), and before
		// the second expiry.
		sleepUntil(ctx, t0.Add(c.ttl))
		for time.Now().Before(t0.Add(c.ttl*7/4)) && ctx.Err() == nil {
			if distinctSpent(idp) >= c.sessions {
				if now, err := storedRefreshTokens(ctx, store, sessions); err == nil && allChanged(signedIn, now) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.wave1Done = time.Since(t0)
		dis.mark(&dis.instanceDown, true)
		procs[2].kill()
		r.killedAt = time.Since(t0)
		sleepUntil(ctx, time.Now().Add(3*time.Second))
		cfg := inst
		cfg.addr = addrs[2]
		if p, err := startApp(ctx, cfg); err == nil {
			procs[2] = p
		} else {
			r.problems = append(r.problems, "restart of the killed instance: "+err.Error())
		}
		dis.mark(&dis.instanceDown, false)
		if redisProc != nil {
			sleepUntil(ctx, time.Now().Add(time.Second))
			dis.mark(&dis.storeDown, true)
			r.storeRestartAt = time.Since(t0)
			took, err := redisProc.restart(ctx)
			r.storeDowntime = took
			if err != nil {
				r.problems = append(r.problems, "restart of Redis: "+err.Error())
			}
			dis.mark(&dis.storeDown, false)
		}
	}()

	client := &http.Client{Transport: tr, Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var lat latencies
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(rand.N(c.think + 1))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				status, err := get(ctx, client, front.url+"/api/me", s.cookie)
				d := time.Since(start)
				switch {
				case err == nil && status == http.StatusOK:
					lat.add(d)
					r.served.Add(1)
				case err == nil && status == http.StatusUnauthorized:
					s.lost.Store(true)
					r.unauthorized.Add(1)
				default:
					r.countFailure(&dis, status, err)
				}
				time.Sleep(c.think/2 + rand.N(c.think+1))
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(t0)

	// After the run: every session is still served, and its stored
	// refresh token is live at Logto.
	for _, s := range sessions {
		ok := false
		for attempt := 0; attempt < 10 && !ok && !s.lost.Load(); attempt++ {
			status, err := get(ctx, client, front.url+"/api/me", s.cookie)
			switch {
			case err == nil && status == http.StatusOK:
				ok = true
			case err == nil && status == http.StatusUnauthorized:
				s.lost.Store(true)
			default:
				time.Sleep(200 * time.Millisecond)
			}
		}
		if !ok {
			s.lost.Store(true)
		}
		rec, found, err := store.Get(ctx, storeID(s.cookie))
		switch {
		case err != nil:
			r.problems = append(r.problems, "reading the store after the run: "+err.Error())
		case !found:
			s.lost.Store(true)
		case !idp.RefreshTokenActive(rec.Values[logto.StorageKeyRefreshToken]):
			r.revoked++
		}
		if s.lost.Load() {
			r.lost++
		}
	}

	// Refresh requests, by the refresh token they spent: one token is one
	// session's one expiry. A second use past the reuse interval is a
	// reuse: Logto (and logtotest) revoke the grant.
	spent := map[string]int{}
	first := map[string]time.Time{}
	reused := map[string]bool{}
	for _, req := range idp.Requests(logtotest.EndpointToken) {
		if req.Form.Get("grant_type") != "refresh_token" {
			continue
		}
		rt := req.Form.Get("refresh_token")
		spent[rt]++
		r.refreshes++
		if t, ok := first[rt]; !ok {
			first[rt] = req.Time
		} else if req.Time.Sub(t) >= c.reuse {
			reused[rt] = true
		}
	}
	r.revoked += len(reused)
	r.expiries = len(spent)
	for _, n := range spent {
		r.maxPerExpiry = max(r.maxPerExpiry, n)
	}
	r.p50, r.p99 = lat.percentile(0.50), lat.percentile(0.99)
	return r, nil
}

// storedRefreshTokens reads each session's refresh token from the store.
func storedRefreshTokens(ctx context.Context, store logtohttp.SessionStore, sessions []*session) ([]string, error) {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		rec, found, err := store.Get(ctx, storeID(s.cookie))
		if err != nil {
			return nil, fmt.Errorf("reading session %d: %w", i, err)
		}
		if found {
			out[i] = rec.Values[logto.StorageKeyRefreshToken]
		}
	}
	return out, nil
}

// allChanged reports whether every session's stored refresh token differs
// from the one it had before (its refresh is stored).
func allChanged(before, now []string) bool {
	for i := range before {
		if now[i] == before[i] {
			return false
		}
	}
	return true
}

// distinctSpent counts the refresh tokens spent so far.
func distinctSpent(idp *logtotest.Server) int {
	seen := map[string]bool{}
	for _, req := range idp.Requests(logtotest.EndpointToken) {
		if req.Form.Get("grant_type") == "refresh_token" {
			seen[req.Form.Get("refresh_token")] = true
		}
	}
	return len(seen)
}

// signIn signs n users in through the front, par at a time, each in its own
// cookie jar: the sign-in starts on one instance and its callback lands on
// the next (round robin).
func signIn(ctx context.Context, tr http.RoundTripper, front string, n, par int) ([]*session, error) {
	out := make([]*session, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
			user := fmt.Sprintf("user-%d", i)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front+"/sign-in?login_hint="+user, nil)
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("sign-in of %s ended with %d", user, resp.StatusCode)
				return
			}
			for _, ck := range jar.Cookies(resp.Request.URL) {
				if ck.Name == logtohttp.DefaultServerSessionName {
					out[i] = &session{user: user, cookie: ck.Name + "=" + ck.Value}
				}
			}
			if out[i] == nil {
				errs <- fmt.Errorf("sign-in of %s: no session cookie", user)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

func get(ctx context.Context, c *http.Client, url, cookie string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	for _, v := range resp.Header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(v); err == nil && ck.Name == logtohttp.DefaultServerSessionName && ck.MaxAge < 0 {
			return http.StatusUnauthorized, nil // the session was ended
		}
	}
	return resp.StatusCode, nil
}

// storeID is logtohttp's store id of a session cookie header.
func storeID(cookie string) string {
	sum := sha256.Sum256([]byte(strings.TrimPrefix(cookie, logtohttp.DefaultServerSessionName+"=")))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// followWallClock makes Logto's clock follow the wall clock (every 10 ms)
// until the returned function is called.
func followWallClock(idp *logtotest.Server) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			idp.SetNow(time.Now())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done) }
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// appProc is an app instance process.
type appProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startApp(ctx context.Context, c instanceConfig) (*appProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-instance", "-addr", c.addr, "-idp", c.idp, "-base", c.base, "-store", c.store, "-key", c.key}
	if c.redisAddr != "" {
		args = append(args, "-redis-addr", c.redisAddr)
	}
	if c.pgTable != "" {
		args = append(args, "-pg-table", c.pgTable, "-pg-dsn", c.pgDSN)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &appProc{cmd: cmd, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case ok := <-ready:
		if ok {
			return p, nil
		}
	case <-time.After(20 * time.Second):
	case <-ctx.Done():
	}
	p.kill()
	return nil, fmt.Errorf("instance on %s did not start", c.addr)
}

// kill ends the process at once (SIGKILL), as a crash would.
func (p *appProc) kill() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop ends the process gracefully.
func (p *appProc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))]
}

// disruptions tells which disruption is under way, or ended less than
// disruptionTail ago (a client's pooled connections to the restarted
// server fail once).
type disruptions struct {
	instanceDown, storeDown disruption
}

type disruption struct {
	on    atomic.Bool
	ended atomic.Int64 // unix nanoseconds
}

const disruptionTail = 2 * time.Second

func (d *disruptions) mark(x *disruption, on bool) {
	if !on {
		x.ended.Store(time.Now().UnixNano())
	}
	x.on.Store(on)
}

// active reports whether x is under way or just ended.
func (x *disruption) active() bool {
	return x.on.Load() || time.Since(time.Unix(0, x.ended.Load())) < disruptionTail
}
