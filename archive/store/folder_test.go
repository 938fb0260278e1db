package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"khomat/archive/store"
	"khomat/archive/store/storetest"
)

func openFolder(t *testing.T, dir string) *store.Folder {
	t.Helper()
	f, err := store.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFolderConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFolder(t, t.TempDir()) }, storetest.Features{})
}

func TestFolderLayout(t *testing.T) {
	dir := t.TempDir()
	f := openFolder(t, dir)
	if _, err := f.Put(t.Context(), "docs/abc/1/meta", strings.NewReader("m"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "objects", "docs", "abc", "1", "meta"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("object mode %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Fatalf("tmp not empty after a put: %d entries", len(entries))
	}
}

func TestFolderOneProcess(t *testing.T) {
	dir := t.TempDir()
	openFolder(t, dir)
	if _, err := store.OpenFolder(dir); err == nil {
		t.Fatal("a second OpenFolder of a folder in use succeeded")
	}
}

func TestFolderSweepsInterruptedWrites(t *testing.T) {
	dir := t.TempDir()
	f, err := store.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// What a crash mid-write leaves: a temp file that never got a name.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "leftover"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	openFolder(t, dir)
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Fatalf("tmp holds %d entries after reopening, want 0", len(entries))
	}
}

// TestFolderStaysInside plants symbolic links that lead out of the root and
// checks that no operation follows them.
func TestFolderStaysInside(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFolder(t, dir)
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "objects", "link")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, _, err := f.Get(ctx, "escape/secret", nil); err == nil {
		t.Fatal("Get followed a symbolic link out of the root")
	}
	if _, _, err := f.Get(ctx, "link", nil); err == nil {
		t.Fatal("Get followed a symbolic link to a file outside the root")
	}
	if _, err := f.Put(ctx, "escape/new", strings.NewReader("x"), store.PutOptions{}); err == nil {
		t.Fatal("Put wrote through a symbolic link out of the root")
	}
	if err := f.Delete(ctx, "escape/secret", store.DeleteOptions{}); err != nil && !errors.Is(err, store.ErrNotExist) {
		t.Logf("Delete: %v", err)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "outside" {
		t.Fatalf("file outside the root changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Fatal("a file was created outside the root")
	}
	for info, err := range f.List(ctx, "", "") {
		if err == nil && strings.HasPrefix(info.Key, "escape/") {
			t.Fatalf("List followed a symbolic link out of the root: %q", info.Key)
		}
	}
}

// TestFolderPrefixConflict shows the one difference from S3: a key cannot
// be an object and a folder of objects at once.
func TestFolderPrefixConflict(t *testing.T) {
	f := openFolder(t, t.TempDir())
	ctx := t.Context()
	if _, err := f.Put(ctx, "a/b", strings.NewReader("x"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Put(ctx, "a", strings.NewReader("x"), store.PutOptions{}); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("Put of a folder's key = %v, want ErrInvalidKey", err)
	}
	if _, err := f.Put(ctx, "a/b/c", strings.NewReader("x"), store.PutOptions{IfAbsent: true}); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("Put under an object's key = %v, want ErrInvalidKey", err)
	}
	if _, err := f.Stat(ctx, "a/b/c"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat under an object's key = %v, want ErrNotExist", err)
	}
}
