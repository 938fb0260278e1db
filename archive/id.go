package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// ID identifies a document: 128 random bits, written as 32 lower-case hex
// digits. It names the document's objects in the store ("docs/<id>/..."),
// so it must say nothing about the document: it is random, never derived
// from a title, number or date.
type ID [16]byte

// ErrInvalidID is returned (wrapped) by ParseID for text that is not an ID.
var ErrInvalidID = errors.New("invalid document id")

// NewID draws a new ID from random, which should be crypto/rand.Reader
// outside tests (it is passed in so that tests control it).
func NewID(random io.Reader) (ID, error) {
	var id ID
	if _, err := io.ReadFull(random, id[:]); err != nil {
		return ID{}, fmt.Errorf("new document id: %w", err)
	}
	if id.IsZero() {
		// 2^-128 by chance; in practice a broken source of randomness,
		// which must not hand out the same id twice.
		return ID{}, errors.New("new document id: random source returned zeros")
	}
	return id, nil
}

// ParseID reads an ID from its 32 hex digits. Upper-case digits are
// accepted; String always writes lower case.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return ID{}, fmt.Errorf("parse %q: %w: want %d hex digits", truncate(s), ErrInvalidID, 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("parse %q: %w: not hex", truncate(s), ErrInvalidID)
	}
	return id, nil
}

// String returns the 32 lower-case hex digits of the ID.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID, which no document has.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the ID as String does.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes an ID written by MarshalText.
func (id *ID) UnmarshalText(text []byte) error {
	v, err := ParseID(string(text))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Digest is a SHA-256 digest, written as 64 lower-case hex digits. The
// archive keeps the digest of each version's plaintext and checks it at the
// end of every full read.
type Digest [sha256.Size]byte

// ErrInvalidDigest is returned (wrapped) by ParseDigest for text that is not
// a SHA-256 digest.
var ErrInvalidDigest = errors.New("invalid sha-256 digest")

// ParseDigest reads a digest from its 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return Digest{}, fmt.Errorf("parse %q: %w: want %d hex digits", truncate(s), ErrInvalidDigest, 2*len(d))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return Digest{}, fmt.Errorf("parse %q: %w: not hex", truncate(s), ErrInvalidDigest)
	}
	return d, nil
}

// String returns the 64 lower-case hex digits of the digest.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is all zeros: no digest recorded.
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText encodes the digest as String does.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes a digest written by MarshalText.
func (d *Digest) UnmarshalText(text []byte) error {
	v, err := ParseDigest(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// truncate shortens untrusted input quoted in an error message.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
