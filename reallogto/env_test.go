package reallogto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fixtures is what ../shared/real-logto/start.sh writes (logto-test.json):
// the apps, user, API, organization and Management API credential it
// provisioned. The file holds secrets: it is read, never copied.
type fixtures struct {
	Endpoint      string `json:"endpoint"`
	Issuer        string `json:"issuer"`
	ManagementAPI struct {
		Resource           string `json:"resource"`
		Scope              string `json:"scope"`
		BootstrapAppID     string `json:"bootstrapAppId"`
		BootstrapAppSecret string `json:"bootstrapAppSecret"`
	} `json:"managementApi"`
	WebApp    fixtureApp `json:"webApp"`
	NativeApp fixtureApp `json:"nativeApp"`
	M2MApp    fixtureApp `json:"m2mApp"`
	API       struct {
		ID        string   `json:"id"`
		Indicator string   `json:"indicator"`
		Scopes    []string `json:"scopes"`
	} `json:"api"`
	Roles struct {
		User fixtureRole `json:"user"`
		M2M  fixtureRole `json:"m2m"`
	} `json:"roles"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"`
		Name     string `json:"name"`
	} `json:"user"`
	Organization struct {
		ID     string   `json:"id"`
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
		Roles  struct {
			Member fixtureRole `json:"member"`
			M2M    fixtureRole `json:"m2m"`
		} `json:"roles"`
	} `json:"organization"`
}

type fixtureApp struct {
	ID                    string `json:"id"`
	Secret                string `json:"secret"`
	RedirectURI           string `json:"redirectUri"`
	PostLogoutRedirectURI string `json:"postLogoutRedirectUri"`
}

type fixtureRole struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// fixturesPath is LOGTO_JSON, else $LOGTO_ROOT/logto-test.json, else
// start.sh's default /tmp/reallogto/logto-test.json.
func fixturesPath() string {
	if p := os.Getenv("LOGTO_JSON"); p != "" {
		return p
	}
	root := os.Getenv("LOGTO_ROOT")
	if root == "" {
		root = "/tmp/reallogto"
	}
	return filepath.Join(root, "logto-test.json")
}

// onCI reports whether CI=true: then a missing server fails the suite
// instead of skipping it, so a broken CI job cannot pass by skipping.
func onCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

var (
	realOnce sync.Once
	realFix  *fixtures
	realErr  error
)

// loadReal reads the fixtures and checks that the server answers discovery.
func loadReal() (*fixtures, error) {
	realOnce.Do(func() {
		path := fixturesPath()
		b, err := os.ReadFile(path)
		if err != nil {
			realErr = fmt.Errorf("no fixtures file %s (start the server with `bash .ci/reallogto.sh`): %w", path, err)
			return
		}
		var f fixtures
		if err := json.Unmarshal(b, &f); err != nil {
			realErr = fmt.Errorf("fixtures file %s: %w", path, err)
			return
		}
		if f.Endpoint == "" || f.WebApp.ID == "" || f.ManagementAPI.BootstrapAppSecret == "" {
			realErr = fmt.Errorf("fixtures file %s lacks endpoint, webApp or managementApi", path)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.Endpoint+"/oidc/.well-known/openid-configuration", nil)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			realErr = fmt.Errorf("the real Logto server at %s does not answer (stale fixtures %s?): %w", f.Endpoint, path, err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			realErr = fmt.Errorf("the real Logto server at %s answered discovery with HTTP %d", f.Endpoint, resp.StatusCode)
			return
		}
		realFix = &f
	})
	return realFix, realErr
}

// requireReal returns the fixtures of the running server, or skips the
// test when there is none; with CI=true a missing server is a failure.
func requireReal(t *testing.T) *fixtures {
	t.Helper()
	f, err := loadReal()
	if err == nil {
		return f
	}
	if onCI() {
		t.Fatalf("CI=true but the real Logto server is unusable: %v", err)
	}
	t.Skipf("real Logto server not available (run `bash .ci/reallogto.sh` from the repository root): %v", err)
	return nil
}
