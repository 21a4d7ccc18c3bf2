// Package e2e holds the browser end-to-end tests of the Logto Go SDK.
//
// The tests live in their own module so that the browser-driving dependency
// (chromedp) stays out of the root module github.com/gologto/logto. They build
// the quickstart example of the root module, start it with its embedded test
// provider, and drive Debian's headless Chromium through sign-in, the user
// info page and sign-out. See README.md for how to run them.
package e2e
