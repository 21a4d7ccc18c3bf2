package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/examples/internal/demoapi"
	"github.com/gologto/logto/logtocli"
	"github.com/gologto/logto/logtotest"
)

// The embedded demo provider's applications, user and API.
const (
	demoAppID       = "logto-cli-example"        // Native, browser sign-in
	demoDeviceAppID = "logto-cli-example-device" // Native with device flow
	demoUserID      = "demo-user"
	demoUsername    = "demo"
	demoOrgID       = "org-demo"
	demoAPI         = demoapi.Resource
)

// demoScopes are the scopes the tool asks the demo provider for.
var demoScopes = []string{logto.ScopeEmail, logto.ScopeOrganizations, logto.ScopeOrganizationRoles, demoapi.Scope}

// Behaviour of the embedded provider.
const (
	// approveDelay is how long a device code waits before the demo user
	// approves it, as a person would on their phone.
	approveDelay = 2 * time.Second
	// approveTick is how often pending device codes are looked at.
	approveTick = 250 * time.Millisecond
	// demoPollInterval is the device-flow polling interval the provider
	// announces (Logto announces none, which means five seconds).
	demoPollInterval = time.Second
	// defaultIdle is how long the background provider lives without a
	// request.
	defaultIdle = 15 * time.Minute
	// startTimeout bounds the start of the background provider.
	startTimeout = 15 * time.Second
)

// providerDir holds the state of the background provider: a FileStorage
// (key "url"), whose lock also keeps two commands from starting two.
const providerDir = "embedded-provider"

// seedProvider registers the demo applications, user, organization and
// API.
func seedProvider(p *logtotest.Server) {
	p.AddApp(logtotest.App{ID: demoAppID, Type: logtotest.AppNative, RedirectURIs: []string{"http://127.0.0.1" + logtocli.DefaultCallbackPath}})
	p.AddApp(logtotest.App{ID: demoDeviceAppID, Type: logtotest.AppNative, DeviceFlow: true})
	p.AddResource(logtotest.Resource{Indicator: demoAPI, Scopes: []string{demoapi.Scope}})
	p.AddRole("reader", demoAPI, demoapi.Scope)
	p.AddOrganization(logtotest.Organization{ID: demoOrgID, Name: "Demo Org"})
	p.AddOrganizationRole("member", "read:members")
	p.AddUser(logtotest.User{
		ID:            demoUserID,
		Username:      demoUsername,
		Name:          "Demo User",
		Email:         "demo@example.com",
		Roles:         []string{"reader"},
		Organizations: []logtotest.Membership{{OrganizationID: demoOrgID, Roles: []string{"member"}}},
	})
	// The browser sign-in goes straight back to the tool, signed in as
	// the demo user: there is no sign-in page to fill.
	p.SetAutoLogin(demoUserID)
}

// startDemoProvider starts the embedded provider, seeded.
func startDemoProvider(ttl time.Duration) (*logtotest.Server, error) {
	opts := []logtotest.Option{
		logtotest.WithAddr("127.0.0.1:0"),
		logtotest.WithWallClock(),
		logtotest.WithDevicePollInterval(demoPollInterval),
	}
	if ttl > 0 {
		opts = append(opts, logtotest.WithAccessTokenTTL(ttl))
	}
	p, err := logtotest.Start(opts...)
	if err != nil {
		return nil, err
	}
	seedProvider(p)
	return p, nil
}

// approveDevices approves, as the demo user, every device code pending
// for approveDelay, until ctx ends: the person who would enter the code.
func approveDevices(ctx context.Context, p *logtotest.Server) {
	seen := map[string]time.Time{}
	t := time.NewTicker(approveTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, code := range p.PendingDeviceCodes() {
				first, ok := seen[code]
				if !ok {
					seen[code] = now
					continue
				}
				if now.Sub(first) >= approveDelay {
					_ = p.ApproveDevice(code, demoUserID)
					delete(seen, code)
				}
			}
		}
	}
}

// endpoints are the provider endpoints whose requests count as activity.
var endpoints = []logtotest.Endpoint{
	logtotest.EndpointDiscovery, logtotest.EndpointAuth, logtotest.EndpointToken, logtotest.EndpointUserInfo,
	logtotest.EndpointJWKS, logtotest.EndpointRevocation, logtotest.EndpointDeviceAuth, logtotest.EndpointDevice,
}

// requestCount is the number of requests p has served.
func requestCount(p *logtotest.Server) int {
	n := 0
	for _, e := range endpoints {
		n += p.RequestCount(e)
	}
	return n
}

// serveProvider runs the embedded provider for the provider command until
// ctx ends or idle passes without a request. ready receives its URL once
// it serves. The state in dir names it: recorded here, or by the command
// that started it in the background (record false), which holds the
// state's lock meanwhile.
func serveProvider(ctx context.Context, dir string, record bool, idle, ttl time.Duration, ready func(url string)) error {
	state, err := providerState(dir)
	if err != nil {
		return err
	}
	p, err := startDemoProvider(ttl)
	if err != nil {
		return fmt.Errorf("embedded provider: %w", err)
	}
	defer p.Close()
	url := p.URL()
	if record {
		if err := recordProvider(ctx, state, providerInfo{URL: url, PID: os.Getpid()}); err != nil {
			return err
		}
	}
	defer func() {
		// Forget the state if it is still this provider's.
		_ = state.WithLock(context.Background(), func(st logto.Storage) error {
			if v, _ := st.Get(context.Background(), "url"); v == url {
				_ = st.Delete(context.Background(), "pid")
				return st.Delete(context.Background(), "url")
			}
			return nil
		})
	}()

	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go approveDevices(actx, p)
	ready(url)

	tick := min(idle/4, 15*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	last, lastAt := requestCount(p), time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if n := requestCount(p); n != last {
				last, lastAt = n, now
			} else if now.Sub(lastAt) >= idle {
				return nil
			}
		}
	}
}

// providerInfo locates a running demo provider.
type providerInfo struct {
	URL string
	PID int
}

// recordProvider writes p to the state (keys "url" and "pid").
func recordProvider(ctx context.Context, st logto.Storage, p providerInfo) error {
	if err := st.Set(ctx, "pid", strconv.Itoa(p.PID)); err != nil {
		return err
	}
	return st.Set(ctx, "url", p.URL)
}

// providerState is the FileStorage holding the background provider's URL
// and process ID.
func providerState(dir string) (*logtocli.FileStorage, error) {
	return logtocli.NewFileStorage(logtocli.FileStorageOptions{Dir: filepath.Join(dir, providerDir), LockTimeout: 2 * startTimeout})
}

// ensureProvider returns the URL of the background demo provider of dir,
// starting it (this program with the provider command, detached) when
// none answers. A provider that answers is used as it is.
func ensureProvider(ctx context.Context, e *environment, dir string) (string, error) {
	state, err := providerState(dir)
	if err != nil {
		return "", err
	}
	var url string
	err = state.WithLock(ctx, func(st logto.Storage) error {
		if v, _ := st.Get(ctx, "url"); v != "" && providerAlive(ctx, v) {
			url = v
			return nil
		}
		p, err := e.startProvider(ctx, dir)
		if err != nil {
			return err
		}
		url = p.URL
		return recordProvider(ctx, st, p)
	})
	return url, err
}

// providerAlive reports whether an OpenID provider with issuer url/oidc
// answers at url.
func providerAlive(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/oidc/.well-known/openid-configuration", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return err == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(body, &doc) == nil && doc.Issuer == url+"/oidc"
}

// readyPrefix starts the line the background provider prints once it
// serves.
const readyPrefix = "ready "

// spawnProvider starts this program's provider command in the background,
// detached from the terminal, and returns its URL once it serves. The
// provider stops by itself after defaultIdle without a request.
func spawnProvider(ctx context.Context, dir string) (providerInfo, error) {
	exe, err := os.Executable()
	if err != nil {
		return providerInfo{}, fmt.Errorf("start the embedded provider: %w", err)
	}
	cmd := exec.Command(exe, "provider", "--background", "--dir", dir)
	cmd.Env = os.Environ()
	detach(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return providerInfo{}, err
	}
	if err := cmd.Start(); err != nil {
		return providerInfo{}, fmt.Errorf("start the embedded provider: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(strings.TrimSpace(l), readyPrefix)
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return providerInfo{}, errors.New("the embedded provider did not start (run `provider` in another terminal to see why)")
		}
		// It runs on, by itself.
		p := providerInfo{URL: url, PID: cmd.Process.Pid}
		_ = cmd.Process.Release()
		return p, nil
	case <-t.C:
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return providerInfo{}, errors.New("the embedded provider did not start in " + strconv.Itoa(int(startTimeout/time.Second)) + " s")
}
