package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/gologto/logto"
)

// Defaults of the settings read from the environment.
const (
	defaultPort         = 3000
	defaultProviderAddr = "127.0.0.1:3001"
	defaultAPIAddr      = "127.0.0.1:3002"
	defaultSessionStore = "cookie"
)

// Session store kinds of LOGTO_SESSION_STORE.
const (
	storeCookie = "cookie"
	storeServer = "server"
)

// settings is the quickstart's configuration, read from the environment
// and checked as a whole before anything is bound or printed.
type settings struct {
	port         int               // PORT
	baseURL      string            // LOGTO_BASE_URL without trailing slash; "" for http://127.0.0.1:<port>
	sessionStore string            // LOGTO_SESSION_STORE
	cookieKey    []byte            // LOGTO_COOKIE_KEY, or random
	randomKey    bool              // LOGTO_COOKIE_KEY was not set
	logto        logto.LogtoConfig // LOGTO_ENDPOINT, _APP_ID, _APP_SECRET, _SCOPES, _RESOURCES
	providerAddr string            // LOGTO_PROVIDER_ADDR (embedded provider only)
	apiURL       string            // API_URL without trailing slash
	apiAddr      string            // API_ADDR (embedded API only)
	ignored      []string          // variables set but unused in this mode
}

// embedded reports whether the quickstart runs its own test provider.
func (s settings) embedded() bool { return s.logto.Endpoint == "" }

// loadSettings reads and checks every variable, and reports all problems
// at once, each naming its variable.
func loadSettings(getenv func(string) string) (settings, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	s := settings{
		port:         defaultPort,
		baseURL:      strings.TrimRight(getenv("LOGTO_BASE_URL"), "/"),
		sessionStore: orDefault(getenv("LOGTO_SESSION_STORE"), defaultSessionStore),
		logto: logto.LogtoConfig{
			Endpoint:  getenv("LOGTO_ENDPOINT"),
			AppId:     getenv("LOGTO_APP_ID"),
			AppSecret: getenv("LOGTO_APP_SECRET"),
			Scopes:    splitList(getenv("LOGTO_SCOPES")),
			Resources: splitList(getenv("LOGTO_RESOURCES")),
		},
		providerAddr: orDefault(getenv("LOGTO_PROVIDER_ADDR"), defaultProviderAddr),
		apiURL:       strings.TrimRight(getenv("API_URL"), "/"),
		apiAddr:      orDefault(getenv("API_ADDR"), defaultAPIAddr),
	}

	if v := getenv("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			bad("PORT=%q is not a port number (0 to 65535)", v)
		}
		s.port = p
	}
	if err := checkSessionStore(s.sessionStore); err != nil {
		errs = append(errs, err)
	}
	if k := getenv("LOGTO_COOKIE_KEY"); k != "" {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "="))
		}
		if err != nil || len(key) != 32 {
			bad("LOGTO_COOKIE_KEY must be the base64 encoding of 32 bytes (openssl rand -base64 32)")
		}
		s.cookieKey = key
	} else {
		s.randomKey = true
	}
	if s.apiURL != "" {
		if u, err := url.Parse(s.apiURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("API_URL=%q must be an absolute http(s) URL, e.g. http://127.0.0.1:3002", getenv("API_URL"))
		}
	}

	if s.embedded() {
		var set []string
		for _, name := range []string{"LOGTO_APP_ID", "LOGTO_APP_SECRET", "LOGTO_SCOPES", "LOGTO_RESOURCES"} {
			if getenv(name) != "" {
				set = append(set, name)
			}
		}
		if len(set) > 0 {
			bad("%s set but LOGTO_ENDPOINT is not: set LOGTO_ENDPOINT to your Logto endpoint "+
				"(e.g. https://my-tenant.logto.app), or unset them to use the embedded test provider",
				joinVerb(set))
		}
		if err := checkAddr("LOGTO_PROVIDER_ADDR", s.providerAddr); err != nil {
			errs = append(errs, err)
		}
		if s.apiURL == "" {
			if err := checkAddr("API_ADDR", s.apiAddr); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		if s.logto.AppId == "" {
			bad("LOGTO_APP_ID is required with LOGTO_ENDPOINT: copy the App ID from the application's page in the Logto Console")
		}
		if s.logto.AppSecret == "" {
			bad("LOGTO_APP_SECRET is required with LOGTO_ENDPOINT: the quickstart is a Traditional web application; " +
				"copy an App secret from the application's page in the Logto Console")
		}
		for _, name := range []string{"LOGTO_PROVIDER_ADDR", "API_ADDR"} {
			if getenv(name) != "" {
				s.ignored = append(s.ignored, name)
			}
		}
	}
	return s, errors.Join(errs...)
}

// checkSessionStore accepts the kinds of LOGTO_SESSION_STORE.
func checkSessionStore(kind string) error {
	switch kind {
	case storeCookie, storeServer:
		return nil
	}
	return fmt.Errorf("LOGTO_SESSION_STORE=%q is unknown: use %q (the default: encrypted cookies) or %q (sessions in memory)",
		kind, storeCookie, storeServer)
}

// checkAddr accepts host:port with a numeric port.
func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var p int
		p, err = strconv.Atoi(port)
		if err == nil && (p < 0 || p > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("%s=%q must be host:port, e.g. 127.0.0.1:3001", name, addr)
	}
	return nil
}

// portOf returns the port of a host:port checked by checkAddr.
func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return p
}

// joinVerb lists variable names with the verb that fits their number.
func joinVerb(names []string) string {
	if len(names) == 1 {
		return names[0] + " is"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
