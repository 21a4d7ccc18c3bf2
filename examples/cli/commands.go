package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtocli"
)

// client returns a LogtoClient for the profile record r on st. The SDK's
// rare warnings (a failed revocation) go to the terminal.
func (e *environment) client(r profileRecord, st logto.Storage) (*logto.LogtoClient, error) {
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return logto.NewLogtoClient(r.config(), st, logto.WithLogger(logger))
}

// login signs the profile in, with the device flow or in the browser.
func (e *environment) login(ctx context.Context, args []string) error {
	var s loginSettings
	fs := e.flagSet("login", "[--device] [flags]", "Sign in: in the browser (a loopback redirect), or with --device on another device.")
	s.register(fs, e.getenv)
	fs.BoolVar(&s.device, "device", false, "sign in on another device with a code (device flow)")
	fs.StringVar(&s.endpoint, "endpoint", e.getenv("LOGTO_ENDPOINT"), "Logto endpoint [LOGTO_ENDPOINT] (none: the embedded demo provider)")
	fs.StringVar(&s.appID, "app-id", e.getenv("LOGTO_APP_ID"), "Native application ID for the browser sign-in [LOGTO_APP_ID]")
	fs.StringVar(&s.deviceAppID, "device-app-id", e.getenv("LOGTO_DEVICE_APP_ID"), "Native application ID with device flow, for --device [LOGTO_DEVICE_APP_ID] (default --app-id)")
	fs.StringVar(&s.scopes, "scopes", e.getenv("LOGTO_SCOPES"), "extra scopes, comma-separated [LOGTO_SCOPES]")
	fs.StringVar(&s.resources, "resources", e.getenv("LOGTO_RESOURCES"), "API resource indicators, comma-separated [LOGTO_RESOURCES]")
	fs.IntVar(&s.port, "port", 0, "loopback port for the browser sign-in (0: any free port)")
	fs.BoolVar(&s.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("login takes no arguments")
	}
	if err := s.check(); err != nil {
		return usageError(err.Error())
	}
	store, err := s.storage()
	if err != nil {
		return err
	}
	// An unreadable file fails now, not after the user signed in.
	if _, err := store.Get(ctx, profileKey); err != nil {
		return err
	}

	endpoint := s.endpoint
	if s.embedded() {
		dir, err := s.baseDir()
		if err != nil {
			return err
		}
		if endpoint, err = ensureProvider(ctx, e, dir); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "No LOGTO_ENDPOINT: using the embedded demo provider at %s (it signs you in as %q).\n", endpoint, demoUsername)
	}
	rec := s.record(endpoint)
	client, err := e.client(rec, store)
	if err != nil {
		return err
	}

	if s.device {
		err = e.deviceLogin(ctx, client)
	} else {
		open := e.openBrowser
		if s.noBrowser {
			open = func(string) error { return nil } // the URL is printed
		}
		err = logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
			Port: s.port, OpenBrowser: open, Out: e.stderr, AppName: "the terminal",
		})
	}
	if err != nil {
		return err
	}
	if err := writeProfile(ctx, store, rec); err != nil {
		return err
	}
	claims, err := client.GetIdTokenClaims(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Signed in as %s to %s (profile %q).\n", displayName(claims), rec.Endpoint, store.Profile())
	return nil
}

// deviceLogin runs the device flow, showing the code and the time left.
func (e *environment) deviceLogin(ctx context.Context, client *logto.LogtoClient) error {
	da, err := client.StartDeviceSignIn(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "To sign in, open %s on any device and enter the code\n\n    %s\n\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(e.stderr, "or open %s\n\n", da.VerificationURIComplete)
	}
	p := newProgress(e.stderr, e.tty, time.Now, da.ExpiresAt)
	err = client.WaitDeviceSignInWith(ctx, da, logto.DeviceWaitOptions{OnPoll: p.poll})
	p.finish()
	switch {
	case errors.Is(err, logto.ErrDeviceCodeExpired):
		return errors.New("the code expired before the sign-in was approved: run login again")
	case errors.Is(err, logto.ErrDeviceAccessDenied):
		return errors.New("the sign-in was denied")
	}
	return err
}

// whoami prints the claims of the profile's ID token.
func (e *environment) whoami(ctx context.Context, args []string) error {
	var c common
	var asJSON bool
	fs := e.flagSet("whoami", "[--json]", "Show who is signed in (the ID token's claims).")
	c.register(fs, e.getenv)
	fs.BoolVar(&asJSON, "json", false, "print every claim as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, rec, client, err := e.open(ctx, c)
	if err != nil {
		return err
	}
	claims, err := client.GetIdTokenClaims(ctx)
	if errors.Is(err, logto.ErrNotAuthenticated) {
		return errNotSignedIn
	}
	if err != nil {
		return err
	}
	if asJSON {
		var all map[string]any
		if err := claims.Claims(&all); err != nil {
			return err
		}
		out, _ := json.MarshalIndent(all, "", "  ")
		fmt.Fprintln(e.stdout, string(out))
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("User", displayName(claims))
	row("Subject", claims.Subject)
	row("Username", claims.Username.Get())
	row("Name", claims.Name.Get())
	row("Email", claims.Email.Get())
	row("Organizations", strings.Join(claims.Organizations.Get(), ", "))
	row("Issuer", claims.Issuer)
	row("Application", rec.AppID)
	row("Signed in", claims.IssuedAt.Time().Local().Format(time.RFC1123)+" ("+rec.Flow+")")
	row("Profile", store.Profile()+" ("+store.Path()+")")
	return tw.Flush()
}

// token prints an access token for an API resource (or an organization),
// refreshed when needed. The profile stays locked meanwhile, so that two
// runs never spend one rotating refresh token twice.
func (e *environment) token(ctx context.Context, args []string) error {
	var c common
	var resource, org string
	fs := e.flagSet("token", "--resource R [--org O]", "Print an access token for an API resource, an organization, or both.")
	c.register(fs, e.getenv)
	fs.StringVar(&resource, "resource", "", "API resource indicator (one given at login)")
	fs.StringVar(&org, "org", "", "organization ID: an organization token, or with --resource an organization-scoped API token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if resource == "" && org == "" {
		return usageError("token needs --resource, --org or both")
	}
	var tok string
	err := e.locked(ctx, c, func(client *logto.LogtoClient, rec profileRecord) error {
		var err error
		switch {
		case org == "":
			tok, err = client.GetAccessToken(ctx, resource)
		case resource == "":
			tok, err = client.GetOrganizationToken(ctx, org)
		default:
			tok, err = client.GetOrganizationAccessToken(ctx, org, resource)
		}
		if errors.Is(err, logto.ErrResourceNotConfigured) {
			return fmt.Errorf("%s was not requested at login (resources: %s): sign in again with --resources", resource, strings.Join(rec.Resources, ", "))
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

// orgs lists the user's organizations with names and roles, from the user
// info endpoint.
func (e *environment) orgs(ctx context.Context, args []string) error {
	var c common
	fs := e.flagSet("orgs", "", "List your organizations.")
	c.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var info logto.UserInfo
	err := e.locked(ctx, c, func(client *logto.LogtoClient, _ profileRecord) error {
		var err error
		info, err = client.FetchUserInfo(ctx)
		return err
	})
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, o := range info.OrganizationData.Get() {
		names[o.ID] = o.Name
	}
	roles := map[string][]string{}
	for _, pair := range info.OrganizationRoles.Get() {
		if id, role, ok := strings.Cut(pair, ":"); ok {
			roles[id] = append(roles[id], role)
		}
	}
	ids := info.Organizations.Get()
	if len(ids) == 0 {
		fmt.Fprintln(e.stderr, "You belong to no organization (or the urn:logto:scope:organizations scope was not granted).")
		return nil
	}
	slices.Sort(ids)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLES")
	for _, id := range ids {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", id, names[id], strings.Join(roles[id], ", "))
	}
	return tw.Flush()
}

// logout revokes the refresh token and clears the profile. An unreadable
// token file is removed.
func (e *environment) logout(ctx context.Context, args []string) error {
	var c common
	fs := e.flagSet("logout", "", "Sign out: revoke the refresh token and delete the profile's tokens.")
	c.register(fs, e.getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := c.storage()
	if err != nil {
		return err
	}
	var warn error
	err = store.WithLock(ctx, func(st logto.Storage) error {
		rec, err := readProfile(ctx, st)
		if errors.Is(err, errNotSignedIn) {
			return err
		}
		if err == nil {
			client, cerr := e.client(rec, st)
			if cerr != nil {
				return cerr
			}
			_, err = client.SignOut(ctx, "")
			switch {
			case errors.Is(err, logto.ErrStorage):
				return err
			case err != nil && !errors.Is(err, logto.ErrNoEndSessionEndpoint):
				// The tokens are gone; only the revocation could not be asked.
				warn = err
			}
		}
		for _, k := range []string{profileKey, logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession} {
			if err := st.Delete(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotSignedIn):
		fmt.Fprintf(e.stderr, "Profile %q is not signed in.\n", store.Profile())
		return nil
	case errors.Is(err, logtocli.ErrCorruptFile):
		if cerr := store.Clear(ctx); cerr != nil {
			return cerr
		}
		fmt.Fprintf(e.stderr, "Removed the unreadable token file %s.\n", store.Path())
		return nil
	case err != nil:
		return err
	}
	if warn != nil {
		fmt.Fprintf(e.stderr, "Signed out on this computer, but Logto could not be asked to revoke the session: %v\n", warn)
		return nil
	}
	fmt.Fprintf(e.stderr, "Signed out (profile %q).\n", store.Profile())
	return nil
}

// open reads the profile's record and returns its storage and client.
func (e *environment) open(ctx context.Context, c common) (*logtocli.FileStorage, profileRecord, *logto.LogtoClient, error) {
	store, err := c.storage()
	if err != nil {
		return nil, profileRecord{}, nil, err
	}
	rec, err := readProfile(ctx, store)
	if err != nil {
		return nil, profileRecord{}, nil, err
	}
	client, err := e.client(rec, store)
	return store, rec, client, err
}

// locked runs fn with the profile's client under the profile's lock: a
// refresh (whose token rotates) never races another run of the tool.
func (e *environment) locked(ctx context.Context, c common, fn func(*logto.LogtoClient, profileRecord) error) error {
	store, err := c.storage()
	if err != nil {
		return err
	}
	return store.WithLock(ctx, func(st logto.Storage) error {
		rec, err := readProfile(ctx, st)
		if err != nil {
			return err
		}
		if rec.Embedded && !providerAlive(ctx, rec.Endpoint) {
			return errors.New("the embedded demo provider has stopped (it stops after 15 minutes without requests): run login again")
		}
		client, err := e.client(rec, st)
		if err != nil {
			return err
		}
		err = fn(client, rec)
		if errors.Is(err, logto.ErrSessionExpired) || errors.Is(err, logto.ErrNotAuthenticated) {
			return fmt.Errorf("%w: run login again", err)
		}
		return err
	})
}

// displayName is the name claim, else the username, else the subject.
func displayName(c logto.IdTokenClaims) string {
	if n := c.Name.Get(); n != "" {
		return n
	}
	if u := c.Username.Get(); u != "" {
		return u
	}
	return c.Subject
}

// flagSet is a command's flag set; errors and -h go to stderr.
func (e *environment) flagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: cli %s %s\n\n%s\n\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}
