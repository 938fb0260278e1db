package crypto

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports holds the line of DESIGN.md: crypto imports only the standard
// library, golang.org/x/crypto and its own internal packages, never the rest
// of Khomat.
func TestImports(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			switch {
			case !strings.Contains(first, "."):
				if first == "khomat" && !strings.HasPrefix(p, "khomat/crypto/internal/") {
					t.Errorf("%s imports %s: crypto must not import other Khomat packages", path, p)
				}
			case p == "golang.org/x/crypto" || strings.HasPrefix(p, "golang.org/x/crypto/"):
			default:
				t.Errorf("%s imports %s: only the standard library and golang.org/x/crypto are allowed", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
