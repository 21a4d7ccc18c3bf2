package logtocli

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"time"
)

// browserSettle is how long OpenSystemBrowser waits for the opener
// command to report a failure; one still running by then is taken to
// have opened something (some openers stay until the browser exits).
const browserSettle = 3 * time.Second

// OpenSystemBrowser opens an http or https URL in the user's browser
// through the system's opener: open on macOS, rundll32
// url.dll,FileProtocolHandler on Windows, xdg-open elsewhere. It returns
// an error when the opener is missing or fails (no desktop, an SSH
// session), so that the caller prints the URL instead.
func OpenSystemBrowser(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("logtocli: refusing to open %q: not an http(s) URL", rawURL)
	}
	name, args := browserCommand(runtime.GOOS, u.String())
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("logtocli: cannot open a browser: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(browserSettle)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("logtocli: cannot open a browser: %s: %w", name, err)
		}
		return nil
	case <-t.C:
		return nil
	}
}

// browserCommand is the opener command of goos for url.
func browserCommand(goos, url string) (string, []string) {
	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	default:
		return "xdg-open", []string{url}
	}
}
