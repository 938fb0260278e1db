package access

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries holds the line DESIGN.md draws: archive/access,
// crypto and archive/store are the innermost packages and import nothing
// of the project beyond their own subpackages. The check runs `go list
// -deps`, so it sees indirect imports too.
func TestImportBoundaries(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const module = "khomat"
	tests := []struct {
		pattern string // the packages checked
		within  string // the only project import path (and subpaths) allowed
	}{
		{"khomat/archive/access/...", "khomat/archive/access"},
		{"khomat/crypto/...", "khomat/crypto"},
		{"khomat/archive/store/...", "khomat/archive/store"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			// -e keeps a half-written package of someone else from hiding
			// its imports behind a compile error.
			cmd := exec.Command(goBin, "list", "-e", "-deps", "-f", "{{.ImportPath}}", tt.pattern)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list %s: %v", tt.pattern, err)
			}
			deps := strings.Fields(string(out))
			if len(deps) == 0 {
				t.Skipf("%s matches no package yet", tt.pattern)
			}
			for _, dep := range deps {
				inModule := dep == module || strings.HasPrefix(dep, module+"/")
				inside := dep == tt.within || strings.HasPrefix(dep, tt.within+"/")
				if inModule && !inside {
					t.Errorf("%s depends on %s; it may import nothing of %s outside %s", tt.pattern, dep, module, tt.within)
				}
			}
		})
	}
}
