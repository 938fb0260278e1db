package archive

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The store layout of a document (docs/FORMAT.md, "Documents"):
//
//	docs/<id>/<ver>/blob         content of version <ver>, streaming AEAD
//	docs/<id>/<ver>/env/<gen>    the version's data key, wrapped under its
//	                             level's KEK; <gen> is the envelope generation
//	docs/<id>/rev/<rev>          metadata revision <rev>: a small header and the
//	                             sealed Document; the highest revision is current
//	docs/<id>/destroyed          an empty tombstone: the document was destroyed
//
// Numbers are written as 10 decimal digits so that their text order is their
// numeric order. A document exists once its first revision does: revisions
// are created with create-if-absent, so of two concurrent writers exactly one
// commits. The envelope generation changes only when the level changes:
// every version is rewrapped under a new generation before the revision that
// records the new level is committed, and the old generation is then deleted
// (with every stored version of it), so no key of the old level opens the
// document afterwards.

const docsPrefix = "docs/"

func docPrefix(id ID) string { return docsPrefix + id.String() + "/" }

func num(n uint32) string { return fmt.Sprintf("%010d", n) }

func blobKey(id ID, ver uint32) string { return docPrefix(id) + num(ver) + "/blob" }

func envPrefix(id ID, ver uint32) string { return docPrefix(id) + num(ver) + "/env/" }

func envKey(id ID, ver, gen uint32) string { return envPrefix(id, ver) + num(gen) }

func revPrefix(id ID) string { return docPrefix(id) + "rev/" }

func revKey(id ID, rev uint32) string { return revPrefix(id) + num(rev) }

// tombstoneKey marks a destroyed document: written before its envelopes are
// deleted, it makes the document not found even if the deletion is
// interrupted, and tells the sweep to remove what is left.
func tombstoneKey(id ID) string { return docPrefix(id) + "destroyed" }

// parseNum reads a 10-digit number written by num.
func parseNum(s string) (uint32, bool) {
	if len(s) != 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// docKey splits an object key under docs/ into the document ID and the rest.
func docKey(key string) (ID, string, bool) {
	rest, ok := strings.CutPrefix(key, docsPrefix)
	if !ok || len(rest) < 33 || rest[32] != '/' {
		return ID{}, "", false
	}
	id, err := ParseID(rest[:32])
	return id, rest[33:], err == nil
}

// A revision object is a header followed by the Document sealed with the
// metadata key of version <ver>'s data key:
//
//	"KMR1" | ver uint32 | gen uint32 | crypto.SealMetadata output
//
// The header says which envelope opens the revision. The sealing binds the
// document ID, the revision number (from the key) and the header, so a
// revision copied to another key or document, or with an edited header,
// does not open.
const (
	revMagic      = "KMR1"
	revHeaderSize = len(revMagic) + 4 + 4
	revADLabel    = "khomat v1 revision"
)

type revHeader struct {
	ver, gen uint32
}

func (h revHeader) marshal() []byte {
	b := make([]byte, 0, revHeaderSize)
	b = append(b, revMagic...)
	b = binary.BigEndian.AppendUint32(b, h.ver)
	return binary.BigEndian.AppendUint32(b, h.gen)
}

func parseRevHeader(b []byte) (revHeader, []byte, bool) {
	if len(b) < revHeaderSize || string(b[:4]) != revMagic {
		return revHeader{}, nil, false
	}
	h := revHeader{ver: binary.BigEndian.Uint32(b[4:]), gen: binary.BigEndian.Uint32(b[8:])}
	return h, b[revHeaderSize:], h.ver > 0 && h.gen > 0
}

// revAD is the associated data of a sealed revision.
func revAD(id ID, rev uint32, header []byte) []byte {
	ad := make([]byte, 0, len(revADLabel)+16+4+len(header))
	ad = append(ad, revADLabel...)
	ad = append(ad, id[:]...)
	ad = binary.BigEndian.AppendUint32(ad, rev)
	return append(ad, header...)
}
