package audit

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// file is what the log needs of an open segment: tests substitute one that
// fails on demand to check that the log fails closed.
type file interface {
	io.Writer
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Names inside the audit folder.
const (
	signerFile     = "signer.key"
	verifierFile   = "verifier.key"
	queryKeyFile   = "query.key"
	hashesFile     = "tree.hashes"
	lockFile       = "LOCK"
	segmentsDir    = "segments"
	checkpointsDir = "checkpoints"
	tmpDir         = "tmp"
	tornDir        = "torn"
)

// syncDir makes a folder's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic writes data to path through a temporary file in tmp, with
// fsync of the file and of path's folder, so a crash leaves the old file or
// the new one.
func writeFileAtomic(tmp, path string, data []byte, perm os.FileMode) error {
	var r [8]byte
	rand.Read(r[:])
	t := filepath.Join(tmp, filepath.Base(path)+"."+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(t, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(t, path)
	}
	if err != nil {
		os.Remove(t)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// listNames returns the names in dir made by seqName, sorted, and the
// other names found there.
func listNames(dir string) (names []string, others []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	for _, e := range entries {
		if _, ok := parseSeqName(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		} else {
			others = append(others, e.Name())
		}
	}
	slices.Sort(names)
	return names, others, nil
}

// readKeyFile reads a one-line key file.
func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
