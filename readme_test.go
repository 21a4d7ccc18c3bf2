package logto_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's Go snippets are type-checked against this module by
// TestREADMESnippets, so that none of them drifts from the API.
//
// A snippet that starts with "package" is a whole file. Any other snippet
// is a fragment: declarations (func, type, var, const) are checked as they
// are, statements inside a function body. A fragment may use names it does
// not declare (ctx, storage, mux…): declare them in an HTML comment, which
// GitHub does not show, right before the fence:
//
//	<!-- snippet: var ctx context.Context; var mux *http.ServeMux -->
//	```go
//
// Imports are added for the packages a fragment names (see snippetImports).
// Unused variables are allowed: a fragment shows what a call returns
// without using it.

// snippetImports are the packages a fragment may use without importing
// them, by the name it uses.
var snippetImports = map[string]string{
	"logto":       "github.com/gologto/logto",
	"logtohttp":   "github.com/gologto/logto/logtohttp",
	"logtotest":   "github.com/gologto/logto/logtotest",
	"logtocli":    "github.com/gologto/logto/logtocli",
	"apiauth":     "github.com/gologto/logto/apiauth",
	"backchannel": "github.com/gologto/logto/backchannel",
	"oauth2":      "golang.org/x/oauth2",
	"context":     "context",
	"errors":      "errors",
	"fmt":         "fmt",
	"http":        "net/http",
	"json":        "encoding/json",
	"log":         "log",
	"os":          "os",
	"slog":        "log/slog",
	"strings":     "strings",
	"testing":     "testing",
	"time":        "time",
}

// snippet is one ```go block of a Markdown file.
type snippet struct {
	line    int    // of the first code line in the file
	code    string // the block's text
	context string // declarations from a preceding <!-- snippet: … --> comment
}

var snippetComment = regexp.MustCompile(`(?s)^<!--\s*snippet:(.*?)-->\s*$`)

// goSnippets returns the ```go blocks of a Markdown text.
func goSnippets(md string) ([]snippet, error) {
	var out []snippet
	var cur *snippet
	var body strings.Builder
	var comment []string // lines of the HTML comment being read
	lastComment, inComment := "", false
	sc := bufio.NewScanner(strings.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && strings.HasPrefix(trimmed, "```"):
			cur.code = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case inComment:
			comment = append(comment, line)
			if strings.Contains(line, "-->") {
				inComment = false
				lastComment = strings.Join(comment, "\n")
			}
		case strings.HasPrefix(trimmed, "<!--"):
			comment = []string{line}
			if strings.Contains(line, "-->") {
				lastComment = line
			} else {
				inComment = true
			}
		case trimmed == "```go":
			cur = &snippet{line: n + 1}
			body.Reset()
			if m := snippetComment.FindStringSubmatch(lastComment); m != nil {
				cur.context = strings.TrimSpace(m[1])
			}
			lastComment = ""
		default:
			lastComment = ""
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: unterminated ```go block", cur.line-1)
	}
	return out, sc.Err()
}

// source is the file a snippet is checked as, and the line of the
// file where the snippet's first line is.
func (s snippet) source() (string, int) {
	if strings.HasPrefix(strings.TrimSpace(s.code), "package ") {
		return s.code, 1
	}
	head := "package snippet\n\n" + s.context + "\n"
	asDecls := head + s.code
	if _, err := parser.ParseFile(token.NewFileSet(), "", asDecls, parser.SkipObjectResolution); err == nil {
		return asDecls, strings.Count(head, "\n") + 1
	}
	head += "func _() {\n"
	return head + s.code + "}\n", strings.Count(head, "\n") + 1
}

// exportData lists the compiled export data of the packages in paths and
// their dependencies, building them with the local build and module
// caches only (GOPROXY=off: no network).
func exportData(t *testing.T, paths []string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to type-check the README: %v", err)
	}
	cmd := exec.Command(goTool, append([]string{"list", "-export", "-deps", "-json=ImportPath,Export,Error"}, paths...)...)
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	files := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Export string
			Error              *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -export: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list -export: %s: %s", p.ImportPath, p.Error.Err)
		}
		files[p.ImportPath] = p.Export
	}
	return files
}

// checkSnippet type-checks one snippet; errors carry README line numbers.
func checkSnippet(name string, s snippet, imp types.Importer) []string {
	src, first := s.source()
	at := func(p token.Position) string { return fmt.Sprintf("%s:%d", name, s.line+p.Line-first) }
	var problems []string
	for attempt := 0; attempt < 2; attempt++ {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "snippet.go", src, parser.SkipObjectResolution)
		if err != nil {
			var list scanner.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					problems = append(problems, at(e.Pos)+": "+e.Msg)
				}
				return problems
			}
			return []string{fmt.Sprintf("%s: %v", name, err)}
		}
		var missing []string
		problems = problems[:0]
		conf := types.Config{Importer: imp, Error: func(err error) {
			te := err.(types.Error)
			msg := te.Msg
			if strings.HasPrefix(msg, "declared and not used") {
				return
			}
			if pkg, ok := strings.CutPrefix(msg, "undefined: "); ok && snippetImports[pkg] != "" && !imported(f, pkg) {
				missing = append(missing, pkg)
				return
			}
			problems = append(problems, at(fset.Position(te.Pos))+": "+msg)
		}}
		_, _ = conf.Check("snippet", fset, []*ast.File{f}, nil)
		if len(missing) == 0 || attempt == 1 {
			return problems
		}
		src = addImports(src, missing)
		first++ // addImports adds one line
	}
	return problems
}

// imported reports whether f imports a package under name.
func imported(f *ast.File, name string) bool {
	for _, is := range f.Imports {
		p := strings.Trim(is.Path.Value, `"`)
		if (is.Name != nil && is.Name.Name == name) || p == name || strings.HasSuffix(p, "/"+name) {
			return true
		}
	}
	return false
}

// addImports adds an import line after the package clause, on the same
// line count for every package (one line).
func addImports(src string, names []string) string {
	slices.Sort(names)
	names = slices.Compact(names)
	var specs []string
	for _, n := range names {
		specs = append(specs, fmt.Sprintf("%q", snippetImports[n]))
	}
	i := strings.Index(src, "\n")
	return src[:i+1] + "import (" + strings.Join(specs, "; ") + ")\n" + src[i+1:]
}

// snippetImporter imports the packages of snippetImports (and what they
// import) from their compiled export data.
func snippetImporter(t *testing.T) types.Importer {
	t.Helper()
	var paths []string
	for _, p := range snippetImports {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	files := exportData(t, paths)
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file := files[path]
		if file == "" {
			return nil, fmt.Errorf("no export data for %q (add it to snippetImports)", path)
		}
		return os.Open(file)
	})
}

// TestREADMESnippets type-checks every ```go block of README.md against
// this module and the packages it names.
func TestREADMESnippets(t *testing.T) {
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := goSnippets(string(md))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if len(snippets) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	imp := snippetImporter(t)
	for i, s := range snippets {
		for _, p := range checkSnippet("README.md", s, imp) {
			t.Errorf("snippet %d: %s", i+1, p)
		}
	}
	if t.Failed() {
		t.Log("fix the snippet, or declare the names it uses but does not declare in a comment before " +
			"its fence, e.g. <!-- snippet: var ctx context.Context -->; see readme_test.go")
	}
}

// TestCheckSnippetFindsErrors: the checker reports what does not compile,
// at the README's line, and accepts what does.
func TestCheckSnippetFindsErrors(t *testing.T) {
	imp := snippetImporter(t)
	tests := []struct {
		name string
		s    snippet
		want []string // problems; none for a snippet that compiles
	}{
		{"undefined name", snippet{line: 10, code: "sessions, _ := logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{key32}})\n"},
			[]string{"README.md:10: undefined: key32"}},
		{"func among statements", snippet{line: 20, code: "mux := http.NewServeMux()\n\nfunc home(w http.ResponseWriter, r *http.Request) {}\n"},
			[]string{"README.md:22: "}},
		{"wrong type", snippet{line: 30, code: "var c logto.LogtoConfig\nc.Scopes = \"email\"\n"},
			[]string{"README.md:31: cannot use"}},
		{"undeclared context", snippet{line: 40, code: "_, err := logto.NewLogtoClient(logto.LogtoConfig{}, nil)\n_ = ctx\n"},
			[]string{"README.md:41: undefined: ctx"}},
		{"declared context", snippet{line: 40, code: "_, err := logto.NewLogtoClient(logto.LogtoConfig{}, nil)\n_ = ctx\n", context: "var ctx context.Context"}, nil},
		{"declarations", snippet{line: 50, code: "func f(t *testing.T) { t.Log(logto.ScopeEmail) }\n"}, nil},
		{"whole file", snippet{line: 60, code: "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(undefinedName) }\n"},
			[]string{"README.md:64: undefined: undefinedName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkSnippet("README.md", tt.s, imp)
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %q, want it to start with %q", got[i], tt.want[i])
				}
			}
		})
	}
}

// TestGoSnippets checks the Markdown reading the README test relies on.
func TestGoSnippets(t *testing.T) {
	md := "# T\n\n```sh\nls\n```\n\n<!-- snippet: var ctx context.Context -->\n```go\nx := 1\n```\n\n" +
		"<!-- an unrelated comment -->\n\n```go\npackage main\n```\n<!--\nsnippet:\n var a int\n-->\n```go\n_ = a\n```\n"
	got, err := goSnippets(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []snippet{
		{line: 9, code: "x := 1\n", context: "var ctx context.Context"},
		{line: 15, code: "package main\n"},
		{line: 22, code: "_ = a\n", context: "var a int"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("goSnippets = %+v, want %+v", got, want)
	}
	if _, err := goSnippets("```go\nx\n"); err == nil {
		t.Error("an unterminated block is an error")
	}
}
