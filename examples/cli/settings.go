package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtocli"
)

// appDirName is the tool's directory under the user's configuration
// directory.
const appDirName = "logto-cli-example"

// profileKey is the Storage key where login records how the profile
// signed in, next to the SDK's keys in the profile's file: the other
// commands rebuild the same client from it, whatever the environment.
const profileKey = "logtoCliExample"

// profileRecord is what login stores under profileKey.
type profileRecord struct {
	Endpoint  string   `json:"endpoint"`
	AppID     string   `json:"appId"`
	Scopes    []string `json:"scopes,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// Flow is "device" or "browser".
	Flow string `json:"flow"`
	// Embedded is true when Endpoint is the embedded demo provider.
	Embedded bool `json:"embedded,omitempty"`
}

// config returns the LogtoConfig the profile signed in with.
func (r profileRecord) config() logto.LogtoConfig {
	return logto.LogtoConfig{Endpoint: r.Endpoint, AppId: r.AppID, Scopes: r.Scopes, Resources: r.Resources}
}

// errNotSignedIn means the profile holds no sign-in of this tool.
var errNotSignedIn = errors.New("not signed in: run `login` first")

// readProfile returns the record login stored in st.
func readProfile(ctx context.Context, st logto.Storage) (profileRecord, error) {
	raw, err := st.Get(ctx, profileKey)
	if err != nil {
		return profileRecord{}, err
	}
	if raw == "" {
		return profileRecord{}, errNotSignedIn
	}
	var r profileRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil || r.Endpoint == "" || r.AppID == "" {
		return profileRecord{}, fmt.Errorf("the profile record is unreadable (run `logout` to clear it)")
	}
	return r, nil
}

// writeProfile stores r in st.
func writeProfile(ctx context.Context, st logto.Storage, r profileRecord) error {
	b, _ := json.Marshal(r)
	return st.Set(ctx, profileKey, string(b))
}

// common are the flags every command takes.
type common struct {
	profile string
	dir     string
}

// register adds the common flags to fs, with defaults from the
// environment.
func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.profile, "profile", orDefault(getenv("LOGTO_CLI_PROFILE"), logtocli.DefaultProfile),
		"profile (account) to use [LOGTO_CLI_PROFILE]")
	fs.StringVar(&c.dir, "dir", getenv("LOGTO_CLI_DIR"),
		"directory of the token files [LOGTO_CLI_DIR] (default: the user configuration directory /"+appDirName+")")
}

// storage opens the profile's FileStorage.
func (c *common) storage() (*logtocli.FileStorage, error) {
	return logtocli.NewFileStorage(logtocli.FileStorageOptions{App: appDirName, Dir: c.dir, Profile: c.profile})
}

// baseDir is the directory of the token files.
func (c *common) baseDir() (string, error) {
	if c.dir != "" {
		return filepath.Abs(c.dir)
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user configuration directory: set --dir or LOGTO_CLI_DIR: %w", err)
	}
	return filepath.Join(base, appDirName), nil
}

// loginSettings are login's flags.
type loginSettings struct {
	common
	device      bool
	endpoint    string
	appID       string
	deviceAppID string
	scopes      string
	resources   string
	port        int
	noBrowser   bool
}

// embedded reports whether login uses the embedded demo provider.
func (s *loginSettings) embedded() bool { return s.endpoint == "" }

// record is the profile record of a sign-in at endpoint (the embedded
// provider's URL when s.embedded()).
func (s *loginSettings) record(endpoint string) profileRecord {
	r := profileRecord{Endpoint: endpoint, Flow: "browser", Embedded: s.embedded()}
	if s.device {
		r.Flow = "device"
	}
	if s.embedded() {
		r.AppID = demoAppID
		if s.device {
			r.AppID = demoDeviceAppID
		}
		r.Scopes = demoScopes
		r.Resources = []string{demoAPI}
		return r
	}
	r.AppID = s.appID
	if s.device && s.deviceAppID != "" {
		r.AppID = s.deviceAppID
	}
	// The scopes a tool like this one wants: e-mail and organizations,
	// and whatever the user adds.
	r.Scopes = append([]string{logto.ScopeEmail, logto.ScopeOrganizations, logto.ScopeOrganizationRoles}, splitList(s.scopes)...)
	r.Resources = splitList(s.resources)
	return r
}

// check reports problems with the settings, each naming its flag.
func (s *loginSettings) check() error {
	var errs []error
	if s.embedded() {
		for name, v := range map[string]string{"--app-id (LOGTO_APP_ID)": s.appID, "--device-app-id (LOGTO_DEVICE_APP_ID)": s.deviceAppID,
			"--scopes (LOGTO_SCOPES)": s.scopes, "--resources (LOGTO_RESOURCES)": s.resources} {
			if v != "" {
				errs = append(errs, fmt.Errorf("%s is set but --endpoint (LOGTO_ENDPOINT) is not: set both, or neither for the embedded demo provider", name))
			}
		}
	} else if s.appID == "" && !(s.device && s.deviceAppID != "") {
		errs = append(errs, errors.New("--app-id (LOGTO_APP_ID) is required with --endpoint (LOGTO_ENDPOINT)"))
	}
	if s.port < 0 || s.port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d is not a port number", s.port))
	}
	if s.device && (s.port != 0 || s.noBrowser) {
		errs = append(errs, errors.New("--port and --no-browser are for the browser sign-in, not --device"))
	}
	return errors.Join(errs...)
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
