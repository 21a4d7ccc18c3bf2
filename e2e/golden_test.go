package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/chromedp/chromedp"
)

// update rewrites the golden files under testdata/ with what the browser
// shows: go test -update (with E2E=1), then review the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.txt with the pages' visible text")

// Values that differ between runs, and what the golden files show instead.
var (
	dateRE   = regexp.MustCompile(`\b\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d UTC\b`)
	millisRE = regexp.MustCompile(`\b\d{13}\b`)
)

// normalize replaces what differs between runs (the addresses the test
// picked, times) with placeholders, and trims trailing blanks.
func (f *flow) normalize(text string) string {
	text = strings.NewReplacer(
		f.app.URL, "{app}",
		f.app.ProviderURL, "{provider}",
		f.app.APIURL, "{api}",
	).Replace(text)
	text = dateRE.ReplaceAllString(text, "{date}")
	text = millisRE.ReplaceAllString(text, "{millis}")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n")) + "\n"
}

// compareText compares the page's visible text (document.body.innerText,
// what a person reads) with testdata/<golden>.txt, and saves it as
// <shot>.txt beside the screenshots.
func (f *flow) compareText(ctx context.Context, shot, golden string) error {
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return fmt.Errorf("read the page's text: %w", err)
	}
	got := f.normalize(text)
	if err := os.WriteFile(filepath.Join(f.dir, shot+".txt"), []byte(got), 0o644); err != nil {
		return err
	}
	path := filepath.Join("testdata", golden+".txt")
	if *update {
		return os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("golden file: %w (run with -update to create it)", err)
	}
	if got != string(want) {
		return fmt.Errorf("the page's visible text differs from %s (run with -update after checking the page):\n%s",
			path, lineDiff(string(want), got))
	}
	return nil
}

// lineDiff lists the lines of want and got that differ, position by
// position: enough to see what changed on a short page.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "    line %d\n      want %q\n      got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
