package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's tree: its size (the number
// of events) and root hash, in the C2SP tlog-checkpoint text format, signed
// with the log's Ed25519 note key.
type Checkpoint struct {
	// Origin names the log: "khomat-audit/<node>", also the key's name.
	Origin string
	// Size is the number of events the tree holds.
	Size uint64
	// Root is the RFC 6962 root hash of the first Size events.
	Root tlog.Hash
	// Note is the signed checkpoint as stored: the text and its signature
	// lines. Hand it to auditors as is.
	Note []byte
}

// ErrCheckpoint is returned (wrapped) for a checkpoint that does not verify
// or does not parse.
var ErrCheckpoint = errors.New("invalid audit checkpoint")

// checkpointText is the C2SP tlog-checkpoint body: origin, decimal size,
// base64 root, each on its own line.
func checkpointText(origin string, size uint64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// signCheckpoint makes a signed checkpoint.
func signCheckpoint(s note.Signer, size uint64, root tlog.Hash) (Checkpoint, error) {
	text := checkpointText(s.Name(), size, root)
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("signing checkpoint %d: %w", size, err)
	}
	return Checkpoint{Origin: s.Name(), Size: size, Root: root, Note: msg}, nil
}

// OpenCheckpoint verifies a signed checkpoint with the log's public key and
// parses it. Its origin must be the key's name: a checkpoint of another log
// signed by the same key is refused.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	lines := strings.SplitAfter(n.Text, "\n")
	// Three lines and the empty string after the last newline; C2SP
	// allows extension lines, which Khomat does not write.
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return Checkpoint{}, fmt.Errorf("%w: not a checkpoint body", ErrCheckpoint)
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: origin %q is not the key's %q", ErrCheckpoint, origin, v.Name())
	}
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseUint(sizeText, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrCheckpoint, sizeText)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash", ErrCheckpoint)
	}
	var root tlog.Hash
	copy(root[:], raw)
	return Checkpoint{Origin: origin, Size: size, Root: root, Note: bytes.Clone(msg)}, nil
}

// Origin returns the origin line (and key name) of a node's log.
func Origin(node string) string { return "khomat-audit/" + node }

// NewVerifier reads a public verifier key, as written to verifier.key.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("audit verifier key: %w", err)
	}
	return v, nil
}

// QueryHasher records search queries by a keyed hash (HMAC-SHA-256), so an
// auditor can see that two searches asked the same thing without the log
// holding what they asked. The key is kept beside the signing key and never
// leaves the node.
type QueryHasher struct {
	key []byte
}

// NewQueryHasher returns a hasher with the given key of at least 32 bytes.
func NewQueryHasher(key []byte) (*QueryHasher, error) {
	if len(key) < 32 {
		return nil, errors.New("audit: query hash key shorter than 32 bytes")
	}
	return &QueryHasher{key: bytes.Clone(key)}, nil
}

// Hash returns the hex HMAC-SHA-256 of the query, after folding case and
// runs of white space, so trivially different spellings of one query match.
// Callers pass the query as the user typed it (or as the search package
// normalised it); the result goes into Event.QueryHash.
func (h *QueryHasher) Hash(query string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(strings.Join(strings.Fields(strings.ToLower(query)), " ")))
	return hex.EncodeToString(m.Sum(nil))
}
