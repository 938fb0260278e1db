// Package store is the object store that holds everything in Khomat that must
// survive: document blobs, envelopes, sealed metadata, identity records and
// audit segments. It defines one small interface and two backends: S3 (any
// S3-compatible service through minio-go) and Folder (a local directory, the
// embedded default for one machine). Both pass the conformance suite in
// package storetest.
//
// Keys are slash-separated paths such as "docs/<id>/<ver>/meta". Callers
// never put plaintext titles or summaries in keys.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors returned by every backend. Callers test them with errors.Is; a
// backend wraps them with context.
var (
	// ErrNotExist means no object is stored under the key.
	ErrNotExist = errors.New("object does not exist")
	// ErrExist means a create-if-absent found an object already stored.
	ErrExist = errors.New("object already exists")
	// ErrPrecondition means a replace-if-match found no object, or one
	// whose ETag differs from the expected one.
	ErrPrecondition = errors.New("precondition failed: object missing or changed")
	// ErrLocked means a retention lock forbids deleting or overwriting.
	ErrLocked = errors.New("object is under a retention lock")
	// ErrInvalidKey means the key is malformed (empty, absolute, "..", ...).
	ErrInvalidKey = errors.New("invalid object key")
	// ErrUnsupported means the backend does not offer the feature asked for
	// (for example a retention lock on the folder backend).
	ErrUnsupported = errors.New("not supported by this store")
	// ErrUnavailable means the store cannot be reached or refused our
	// configuration (wrong endpoint, credentials or bucket).
	ErrUnavailable = errors.New("object store unavailable")
)

// Store is the object-store interface every Khomat component writes through.
// Every method honours cancellation of its context.
type Store interface {
	// Put stores the bytes read from r under key, streaming: the length
	// need not be known and memory does not grow with it. Nothing is
	// visible under key until the whole stream has been stored; on any
	// error or cancellation nothing new is visible. opts makes the write
	// conditional or retention-locked.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Info, error)

	// Get opens the object under key. A nil rng reads it whole; otherwise
	// only the bytes in rng. The caller closes the reader.
	Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error)

	// Stat describes the object under key without reading it.
	Stat(ctx context.Context, key string) (Info, error)

	// List yields the objects whose keys start with prefix and sort
	// strictly after startAfter, in lexicographic byte order of their keys.
	// Breaking out of the loop stops the listing. An error ends the
	// sequence with a zero Info and the error.
	List(ctx context.Context, prefix, startAfter string) iter.Seq2[Info, error]

	// Delete removes the object under key. Deleting a missing key is not
	// an error. With opts.AllVersions, every stored version of the key
	// is removed too, where the backend keeps versions.
	Delete(ctx context.Context, key string, opts DeleteOptions) error
}

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ETag    string // opaque; changes whenever the object is written
	ModTime time.Time
}

// Range selects bytes [Offset, Offset+Length) of an object. A negative Length
// means "to the end". A range that starts past the end yields no bytes.
type Range struct {
	Offset int64
	Length int64
}

// PutOptions makes a Put conditional or locked. IfAbsent and IfMatch are
// exclusive.
type PutOptions struct {
	// IfAbsent makes the Put a create-if-absent (If-None-Match: *): it
	// fails with ErrExist when an object is already stored under the key,
	// and of several concurrent creators exactly one succeeds.
	IfAbsent bool
	// IfMatch makes the Put a replace-if-match (compare-and-swap): it
	// fails with ErrPrecondition unless the stored object's ETag equals
	// IfMatch.
	IfMatch string
	// Retention, when set, locks the new object against deletion and
	// overwrite until the given time. Backends without object lock return
	// ErrUnsupported.
	Retention *Retention
	// ContentType is recorded where the backend keeps it; optional.
	ContentType string
}

// RetentionMode is the S3 Object Lock mode.
type RetentionMode string

// The two S3 Object Lock modes: governance can be bypassed by a privileged
// caller, compliance by nobody until it expires.
const (
	Governance RetentionMode = "GOVERNANCE"
	Compliance RetentionMode = "COMPLIANCE"
)

// Retention is an object-lock retention: the object cannot be deleted or
// overwritten before Until.
type Retention struct {
	Mode  RetentionMode
	Until time.Time
}

// DeleteOptions tunes Delete.
type DeleteOptions struct {
	// AllVersions removes every version of the key in a versioned bucket,
	// not only the current one (used for crypto-shredding).
	AllVersions bool
	// BypassGovernance deletes versions under a governance-mode lock,
	// where the credentials allow it.
	BypassGovernance bool
}

// MaxKeyLen is the longest key accepted, in bytes (the S3 limit).
const MaxKeyLen = 1024

// ValidateKey reports whether key is acceptable to every backend: non-empty
// valid UTF-8 of at most MaxKeyLen bytes, relative, slash-separated, with no
// empty, "." or ".." segment, and no backslash or control character. Both
// backends call it, so a key that works on one works on the other.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q contains a control character or backslash", ErrInvalidKey, key)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		}
	}
	return nil
}

// validatePrefix accepts "" and any prefix made of a valid key, optionally
// followed by a slash.
func validatePrefix(prefix string) error {
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		if prefix == "/" {
			return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
		}
		return nil
	}
	return ValidateKey(p)
}

func validatePut(key string, opts PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if opts.IfAbsent && opts.IfMatch != "" {
		return errors.New("store: IfAbsent and IfMatch are exclusive")
	}
	if r := opts.Retention; r != nil {
		if r.Mode != Governance && r.Mode != Compliance {
			return fmt.Errorf("store: unknown retention mode %q", r.Mode)
		}
		if r.Until.IsZero() {
			return errors.New("store: retention without an end time")
		}
	}
	return nil
}

func validateRange(rng *Range) error {
	if rng != nil && rng.Offset < 0 {
		return fmt.Errorf("store: negative range offset %d", rng.Offset)
	}
	return nil
}
