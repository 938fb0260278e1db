package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Folder is the store backend for one machine: objects are files under
// <root>/objects/<key>. Writes go to <root>/tmp first, are fsynced, and are
// renamed (or hard-linked, for create-if-absent) into place, and the folder
// is fsynced, so a crash leaves either the old object or the new one. All
// access goes through an os.Root, so no key and no planted symbolic link can
// reach outside the root. One process owns a folder at a time: OpenFolder
// takes an exclusive lock on <root>/LOCK.
//
// A key cannot be both an object and the folder of other objects ("a" and
// "a/b"); S3 allows that, the folder backend refuses the second with
// ErrInvalidKey. Khomat's layout never needs it. Retention locks are not
// offered (ErrUnsupported).
type Folder struct {
	root *os.Root
	lock *os.File

	// keyLocks serialise writes and deletes of one key, so that a
	// replace-if-match compares and renames without another writer of
	// the same key in between.
	keyLocks [64]sync.Mutex
	// dirs is held shared by writers while they create parent folders
	// and move a file into place, and by Delete while it removes a file
	// and syncs its folder; exclusively while Delete removes folders it
	// has emptied, so neither loses its folder.
	dirs sync.RWMutex
}

var _ Store = (*Folder)(nil)

const (
	objectsDir = "objects"
	tmpDir     = "tmp"
	copyBuffer = 1 << 20
)

// OpenFolder opens (creating if needed) a folder store at dir. Leftovers of
// writes interrupted by a crash are removed from its tmp folder.
func OpenFolder(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("folder store: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("folder store: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("folder store: %s is in use by another process: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("folder store: %w", err)
	}
	f := &Folder{root: root, lock: lock}
	if err := root.RemoveAll(tmpDir); err != nil {
		f.Close()
		return nil, fmt.Errorf("folder store: clearing %s: %w", tmpDir, err)
	}
	for _, d := range []string{objectsDir, tmpDir} {
		if err := root.MkdirAll(d, 0o700); err != nil {
			f.Close()
			return nil, fmt.Errorf("folder store: %w", err)
		}
	}
	return f, nil
}

// Close releases the folder's lock.
func (f *Folder) Close() error {
	err := f.root.Close()
	if e := f.lock.Close(); err == nil {
		err = e
	}
	return err
}

func (f *Folder) keyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &f.keyLocks[h.Sum32()%uint32(len(f.keyLocks))]
}

func objectPath(key string) string { return objectsDir + "/" + key }

// etag derives an object's ETag from its inode, modification time and size:
// every write creates a new file (a new inode), so the ETag changes with every
// write, and it is read by a stat without reading the content.
func etag(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%x-%x-%x", ino, fi.ModTime().UnixNano(), fi.Size())
}

func info(key string, fi fs.FileInfo) Info {
	return Info{Key: key, Size: fi.Size(), ETag: etag(fi), ModTime: fi.ModTime().UTC()}
}

// Put implements Store.
func (f *Folder) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Info, error) {
	if err := validatePut(key, opts); err != nil {
		return Info{}, err
	}
	if opts.Retention != nil {
		return Info{}, fmt.Errorf("folder store: retention lock: %w", ErrUnsupported)
	}
	tmp, fi, err := f.writeTemp(ctx, r)
	if err != nil {
		return Info{}, err
	}
	defer f.root.Remove(tmp) // after a link or a failure; a no-op after a rename

	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	mu := f.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	f.dirs.RLock()
	defer f.dirs.RUnlock()

	dst := objectPath(key)
	if err := f.makeParents(key); err != nil {
		return Info{}, err
	}
	switch cur, err := f.root.Lstat(dst); {
	case err == nil && !cur.Mode().IsRegular():
		return Info{}, fmt.Errorf("%w: %q is a prefix of stored objects", ErrInvalidKey, key)
	case err == nil && opts.IfMatch != "" && etag(cur) != opts.IfMatch:
		return Info{}, fmt.Errorf("folder store: put %s: %w", key, ErrPrecondition)
	case errors.Is(err, fs.ErrNotExist) && opts.IfMatch != "":
		return Info{}, fmt.Errorf("folder store: put %s: %w", key, ErrPrecondition)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return Info{}, fmt.Errorf("folder store: put %s: %w", key, err)
	}
	if opts.IfAbsent {
		// link(2) fails if the name exists, atomically: exactly one of
		// several creators wins, even across processes.
		if err := f.root.Link(tmp, dst); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return Info{}, fmt.Errorf("folder store: create %s: %w", key, ErrExist)
			}
			return Info{}, fmt.Errorf("folder store: create %s: %w", key, err)
		}
	} else if err := f.root.Rename(tmp, dst); err != nil {
		return Info{}, fmt.Errorf("folder store: put %s: %w", key, err)
	}
	if err := f.syncDir(path.Dir(dst)); err != nil {
		return Info{}, fmt.Errorf("folder store: put %s: %w", key, err)
	}
	return info(key, fi), nil
}

// writeTemp copies r into a new file under tmp, fsyncs it and returns its
// name and description. On failure the file is removed.
func (f *Folder) writeTemp(ctx context.Context, r io.Reader) (name string, fi fs.FileInfo, err error) {
	var suffix [12]byte
	rand.Read(suffix[:])
	name = tmpDir + "/" + hex.EncodeToString(suffix[:])
	file, err := f.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("folder store: %w", err)
	}
	defer func() {
		if err != nil {
			file.Close()
			f.root.Remove(name)
		}
	}()
	buf := make([]byte, copyBuffer)
	if _, err = io.CopyBuffer(onlyWriter{file}, contextReader{ctx, r}, buf); err != nil {
		return "", nil, fmt.Errorf("folder store: writing: %w", err)
	}
	if err = file.Sync(); err != nil {
		return "", nil, fmt.Errorf("folder store: %w", err)
	}
	if fi, err = file.Stat(); err != nil {
		return "", nil, fmt.Errorf("folder store: %w", err)
	}
	if err = file.Close(); err != nil {
		return "", nil, fmt.Errorf("folder store: %w", err)
	}
	return name, fi, nil
}

// makeParents creates the folders above key's file, refusing a key one of
// whose prefixes is a stored object.
func (f *Folder) makeParents(key string) error {
	dir := path.Dir(objectPath(key))
	err := f.root.MkdirAll(dir, 0o700)
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: a prefix of %q is a stored object", ErrInvalidKey, key)
	}
	return fmt.Errorf("folder store: %w", err)
}

func (f *Folder) syncDir(dir string) error {
	d, err := f.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements Store.
func (f *Folder) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := validateRange(rng); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	file, err := f.root.Open(objectPath(key))
	if err != nil {
		return nil, Info{}, f.statError(key, err)
	}
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return nil, Info{}, fmt.Errorf("folder store: get %s: %w", key, ErrNotExist)
	}
	var rd io.Reader = file
	if rng != nil {
		if _, err := file.Seek(rng.Offset, io.SeekStart); err != nil {
			file.Close()
			return nil, Info{}, fmt.Errorf("folder store: get %s: %w", key, err)
		}
		if rng.Length >= 0 {
			rd = io.LimitReader(file, rng.Length)
		}
	}
	return readCloser{contextReader{ctx, rd}, file}, info(key, fi), nil
}

func (f *Folder) statError(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("folder store: %s: %w", key, ErrNotExist)
	}
	return fmt.Errorf("folder store: %s: %w", key, err)
}

// Stat implements Store.
func (f *Folder) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	fi, err := f.root.Lstat(objectPath(key))
	if err != nil {
		return Info{}, f.statError(key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("folder store: %s: %w", key, ErrNotExist)
	}
	return info(key, fi), nil
}

// Delete implements Store. The folder keeps no versions, so AllVersions
// removes the one file.
func (f *Folder) Delete(ctx context.Context, key string, opts DeleteOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := f.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	p := objectPath(key)
	fi, err := f.root.Lstat(p)
	if err != nil {
		if errors.Is(f.statError(key, err), ErrNotExist) {
			return nil
		}
		return fmt.Errorf("folder store: delete %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	if err := f.unlink(p); err != nil {
		return fmt.Errorf("folder store: delete %s: %w", key, err)
	}
	f.removeEmptyParents(path.Dir(p))
	return nil
}

// unlink removes the file p and syncs its folder, holding dirs shared as a
// writer does: another Delete must not remove the folder, emptied by its
// own file, before this one's sync.
func (f *Folder) unlink(p string) error {
	f.dirs.RLock()
	defer f.dirs.RUnlock()
	if err := f.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return f.syncDir(path.Dir(p))
}

// removeEmptyParents removes the folders left empty by a delete, so that the
// key of a former folder can become an object again.
func (f *Folder) removeEmptyParents(dir string) {
	f.dirs.Lock()
	defer f.dirs.Unlock()
	for dir != objectsDir && strings.HasPrefix(dir, objectsDir+"/") {
		if err := f.root.Remove(dir); err != nil {
			return // not empty, or gone
		}
		dir = path.Dir(dir)
	}
}

// List implements Store. It walks the folders in key order: the entries of a
// folder are sorted by the key text they stand for ("name" for a file,
// "name/" for a folder), which is the lexicographic order of the keys.
func (f *Folder) List(ctx context.Context, prefix, startAfter string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(Info{}, err)
			return
		}
		// Start at the deepest folder that the prefix names whole.
		base := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			base = prefix[:i+1]
		}
		f.walk(ctx, base, prefix, startAfter, yield)
	}
}

// walk lists the folder holding the keys that start with dirKey (""
// or ending in "/"); it returns false when the listing must stop.
func (f *Folder) walk(ctx context.Context, dirKey, prefix, startAfter string, yield func(Info, error) bool) bool {
	if err := ctx.Err(); err != nil {
		return yield(Info{}, err)
	}
	dir, err := f.root.Open(path.Join(objectsDir, dirKey))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return true
		}
		return yield(Info{}, fmt.Errorf("folder store: list: %w", err))
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return yield(Info{}, fmt.Errorf("folder store: list: %w", err))
	}
	type entry struct {
		key   string
		isDir bool
	}
	keys := make([]entry, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.IsDir():
			keys = append(keys, entry{dirKey + e.Name() + "/", true})
		case e.Type().IsRegular():
			keys = append(keys, entry{dirKey + e.Name(), false})
		}
	}
	slices.SortFunc(keys, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range keys {
		if e.isDir {
			// Descend only where keys may both match the prefix and
			// sort after startAfter.
			matches := strings.HasPrefix(e.key, prefix) || strings.HasPrefix(prefix, e.key)
			after := e.key > startAfter || strings.HasPrefix(startAfter, e.key)
			if matches && after && !f.walk(ctx, e.key, prefix, startAfter, yield) {
				return false
			}
			continue
		}
		if !strings.HasPrefix(e.key, prefix) || e.key <= startAfter {
			continue
		}
		fi, err := f.root.Lstat(objectPath(e.key))
		if err != nil {
			continue // deleted since the folder was read
		}
		if !yield(info(e.key, fi), nil) {
			return false
		}
	}
	return true
}

// contextReader stops a copy when its context is cancelled.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// onlyWriter hides ReadFrom so that io.CopyBuffer uses our buffer and
// contextReader stays in the loop.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type readCloser struct {
	io.Reader
	io.Closer
}
