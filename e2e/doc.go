// Package e2e holds the end-to-end tests of the Logto Go SDK's quickstart.
//
// The tests live in their own module so that the browser-driving dependency
// (chromedp) stays out of the root module github.com/gologto/logto. They build
// the quickstart example of the root module, check the hints it gives when it
// cannot start, then start it with its embedded test provider and drive
// Debian's headless Chromium through every page, comparing each page's
// visible text with a golden file under testdata/. See README.md for how to
// run them.
package e2e
