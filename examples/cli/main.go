// Command cli is a command-line tool that signs its user in with Logto,
// as `gh auth login` does, and keeps the tokens on disk (package
// logtocli):
//
//	go run ./examples/cli login --device   # sign in on another device with a code
//	go run ./examples/cli login            # sign in in the browser (loopback redirect)
//	go run ./examples/cli whoami           # the ID token's claims
//	go run ./examples/cli token --resource https://api.example.com
//	go run ./examples/cli orgs             # organizations, names and roles
//	go run ./examples/cli logout           # revoke and clear
//
// Without LOGTO_ENDPOINT, login starts an embedded demo provider (package
// logtotest) in the background: it signs you in as "demo", approves a
// device code by itself after two seconds, and stops after 15 minutes
// without a request. With a real Logto, create a Native application with
// the redirect URI http://127.0.0.1/callback (no port: Logto accepts any
// port on a loopback redirect URI of a Native app) for the browser
// sign-in, and a Native application with device flow enabled for
// --device, then set:
//
//	LOGTO_ENDPOINT       your Logto endpoint, e.g. https://my-tenant.logto.app
//	LOGTO_APP_ID         the Native application's ID
//	LOGTO_DEVICE_APP_ID  the device-flow application's ID (default LOGTO_APP_ID)
//	LOGTO_RESOURCES      API resource indicators, comma-separated (optional)
//	LOGTO_SCOPES         extra scopes, comma-separated (optional)
//	LOGTO_CLI_PROFILE    the profile (account) to use (default "default")
//	LOGTO_CLI_DIR        where the token files go (default the user
//	                     configuration directory /logto-cli-example)
//
// Each is also a flag of login. The other commands use what login stored
// in the profile. Data (a token, whoami) goes to standard output;
// messages go to standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gologto/logto/logtocli"
)

// environment is what the commands read and write: the process's, or a
// test's.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// tty is true when stderr is a terminal (the device-flow countdown).
	tty bool
	// openBrowser opens the sign-in page; nil for the system browser.
	openBrowser func(url string) error
	// startProvider starts the background demo provider of a directory.
	startProvider func(ctx context.Context, dir string) (providerInfo, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &environment{
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		getenv:        os.Getenv,
		tty:           isTerminal(os.Stderr),
		startProvider: spawnProvider,
	}
	code := e.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// usageError is a mistake in the command line: exit status 2.
type usageError string

func (u usageError) Error() string { return string(u) }

const usage = `Usage: cli <command> [flags]

Commands:
  login [--device]       sign in (in the browser, or with a code on another device)
  whoami [--json]        show who is signed in
  token --resource R     print an access token for an API (refreshed when needed)
  orgs                   list your organizations
  logout                 revoke the session and delete the tokens
  provider               run the embedded demo provider in the foreground

Run "cli <command> -h" for the flags of a command.
`

// run runs one command and returns the exit status.
func (e *environment) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string) error{
		"login": e.login, "whoami": e.whoami, "token": e.token, "orgs": e.orgs, "logout": e.logout, "provider": e.provider,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(e.stderr, usage)
			return 0
		}
		fmt.Fprintf(e.stderr, "cli: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "cli %s: %s\n", args[0], strings.ReplaceAll(ue.Error(), "\n", "\n  "))
		return 2
	case strings.HasPrefix(err.Error(), "flag provided but not defined"), strings.Contains(err.Error(), "invalid value"):
		return 2 // the flag package has said it
	}
	fmt.Fprintf(e.stderr, "cli %s: %v\n", args[0], err)
	if errors.Is(err, logtocli.ErrCorruptFile) {
		fmt.Fprintln(e.stderr, "Run `cli logout` to remove it, then sign in again.")
	}
	return 1
}

// provider runs the embedded demo provider: in the foreground for a
// person (until Ctrl-C), or in the background for login (--background:
// it prints its URL on one line, then nothing more, and stops after --idle
// without a request).
func (e *environment) provider(ctx context.Context, args []string) error {
	var c common
	var background bool
	var idle, ttl time.Duration
	fs := e.flagSet("provider", "[flags]", "Run the embedded demo provider (for trying the tool without a Logto).")
	c.register(fs, e.getenv)
	fs.BoolVar(&background, "background", false, "started by login: print the URL on one line and stop after --idle without a request")
	fs.DurationVar(&idle, "idle", defaultIdle, "with --background, stop after this long without a request")
	fs.DurationVar(&ttl, "access-token-ttl", 0, "lifetime of access tokens (default one hour)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := c.baseDir()
	if err != nil {
		return err
	}
	if !background {
		idle = 100 * 365 * 24 * time.Hour // until Ctrl-C
	}
	if idle <= 0 {
		return usageError("--idle must be positive")
	}
	return serveProvider(ctx, dir, !background, idle, ttl, func(url string) {
		if background {
			fmt.Fprintln(e.stdout, readyPrefix+url)
			if f, ok := e.stdout.(*os.File); ok {
				// Nobody reads any more: a later write must not kill us.
				_ = f.Close()
			}
			return
		}
		fmt.Fprintf(e.stdout, "Embedded demo provider: %s (signs in as %q; device codes approved after %s).\n"+
			"Other commands in this directory (%s) use it. Ctrl-C stops it.\n", url, demoUsername, approveDelay, dir)
	})
}
