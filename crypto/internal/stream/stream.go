// Package stream implements the STREAM online authenticated encryption
// construction (Hoang, Reyhanitabar, Rogaway and Vizár, "Online
// Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015) over
// any cipher.AEAD with a 16-byte tag, in the shape age uses: the plaintext is
// cut into chunks of ChunkSize bytes, and chunk i is sealed with the nonce
//
//	prefix ‖ uint32_be(i) ‖ last
//
// where last is 1 for the final chunk and 0 otherwise. Every chunk but the
// last holds exactly ChunkSize bytes of plaintext; the last holds 1 to
// ChunkSize bytes, or 0 when the whole plaintext is empty. That makes the
// encoding of a plaintext unique and its ciphertext size a pure function of
// the plaintext size, and it lets a reader detect truncation (the final flag
// is missing), extension (data after the final chunk), and reordering or
// duplication (the counter is in the nonce).
//
// The package knows nothing of keys, headers or Khomat's formats: the caller
// derives the AEAD key, the nonce prefix and the associated data, and keeps the
// format header. Every authentication failure is reported as ErrIntegrity.
package stream

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 64 << 10
	// TagSize is the authentication tag appended to each sealed chunk.
	TagSize = 16
	// EncChunkSize is the sealed size of a full chunk.
	EncChunkSize = ChunkSize + TagSize
	// MaxNonceSize bounds the nonce of the AEADs this package accepts
	// (XChaCha20-Poly1305 uses 24 bytes).
	MaxNonceSize = 24
	// MaxChunks is the number of chunk counters: the counter is 32 bits,
	// which bounds a stream at 2^32 chunks, 256 TiB of plaintext.
	MaxChunks = 1 << 32

	counterSize = 4
	flagSize    = 1
)

// ErrIntegrity is returned, wrapped, for every authentication failure and for
// every malformed stream. Package crypto exposes it as crypto.ErrIntegrity.
var ErrIntegrity = errors.New("crypto: integrity check failed")

// Cipher seals and opens the chunks of one stream. It holds no mutable
// state, so one Cipher may serve concurrent readers; the nonce scratch space
// is supplied by each caller.
type Cipher struct {
	aead   cipher.AEAD
	prefix []byte
	ad     []byte
}

// PrefixSize is the nonce prefix length that aead needs.
func PrefixSize(aead cipher.AEAD) int {
	return aead.NonceSize() - counterSize - flagSize
}

// New returns the Cipher of one stream. prefix must be PrefixSize(aead)
// bytes; ad is bound to every chunk. Both are copied.
func New(aead cipher.AEAD, prefix, ad []byte) (*Cipher, error) {
	if aead.Overhead() != TagSize {
		return nil, fmt.Errorf("stream: AEAD overhead is %d bytes, want %d", aead.Overhead(), TagSize)
	}
	if aead.NonceSize() > MaxNonceSize || aead.NonceSize() < counterSize+flagSize || len(prefix) != PrefixSize(aead) {
		return nil, fmt.Errorf("stream: nonce prefix is %d bytes for a %d-byte nonce", len(prefix), aead.NonceSize())
	}
	return &Cipher{
		aead:   aead,
		prefix: append([]byte(nil), prefix...),
		ad:     append([]byte(nil), ad...),
	}, nil
}

// Nonce is scratch space for building chunk nonces without allocating.
type Nonce [MaxNonceSize]byte

func (c *Cipher) nonce(n *Nonce, index uint64, last bool) []byte {
	size := c.aead.NonceSize()
	copy(n[:], c.prefix)
	binary.BigEndian.PutUint32(n[len(c.prefix):], uint32(index))
	n[size-1] = 0
	if last {
		n[size-1] = 1
	}
	return n[:size]
}

// Seal appends the sealed chunk number index to dst. plaintext must hold
// ChunkSize bytes unless last, and must not overlap dst's spare capacity
// except as plaintext[:0].
func (c *Cipher) Seal(dst []byte, n *Nonce, index uint64, last bool, plaintext []byte) ([]byte, error) {
	if index >= MaxChunks {
		return nil, errors.New("stream: too many chunks: the stream would exceed 2^32 chunks")
	}
	if len(plaintext) > ChunkSize || (!last && len(plaintext) != ChunkSize) {
		return nil, fmt.Errorf("stream: chunk of %d bytes (last=%v)", len(plaintext), last)
	}
	return c.aead.Seal(dst, c.nonce(n, index, last), plaintext, c.ad), nil
}

// Open authenticates and decrypts the sealed chunk number index, appending
// the plaintext to dst. It enforces the length rules of the construction:
// a full chunk unless last, and a non-empty last chunk unless it is the
// only one.
func (c *Cipher) Open(dst []byte, n *Nonce, index uint64, last bool, sealed []byte) ([]byte, error) {
	switch {
	case index >= MaxChunks:
		return nil, fmt.Errorf("%w: more than 2^32 chunks", ErrIntegrity)
	case len(sealed) < TagSize || len(sealed) > EncChunkSize:
		return nil, fmt.Errorf("%w: chunk %d is %d bytes", ErrIntegrity, index, len(sealed))
	case !last && len(sealed) != EncChunkSize:
		return nil, fmt.Errorf("%w: short chunk %d before the end", ErrIntegrity, index)
	case last && index > 0 && len(sealed) == TagSize:
		return nil, fmt.Errorf("%w: empty final chunk %d", ErrIntegrity, index)
	}
	out, err := c.aead.Open(dst, c.nonce(n, index, last), sealed, c.ad)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d", ErrIntegrity, index)
	}
	return out, nil
}

// EncryptedSize is the sealed size of a plaintext of n bytes, without any
// header.
func EncryptedSize(n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("stream: negative plaintext size %d", n)
	}
	chunks := (n + ChunkSize - 1) / ChunkSize
	if chunks == 0 {
		chunks = 1
	}
	if chunks > MaxChunks {
		return 0, fmt.Errorf("stream: plaintext of %d bytes exceeds 2^32 chunks", n)
	}
	return n + chunks*TagSize, nil
}

// DecryptedSize is the plaintext size of a sealed body of n bytes, without
// any header. A size no stream can have returns ErrIntegrity.
func DecryptedSize(n int64) (int64, error) {
	chunks, last, err := layout(n)
	if err != nil {
		return 0, err
	}
	return (chunks-1)*ChunkSize + last - TagSize, nil
}

// layout returns the number of chunks of a sealed body of n bytes and the
// sealed size of its last chunk.
func layout(n int64) (chunks, last int64, err error) {
	if n < TagSize {
		return 0, 0, fmt.Errorf("%w: sealed body of %d bytes is shorter than one tag", ErrIntegrity, n)
	}
	chunks = (n + EncChunkSize - 1) / EncChunkSize
	last = n - (chunks-1)*EncChunkSize
	switch {
	case chunks > MaxChunks:
		return 0, 0, fmt.Errorf("%w: sealed body of %d bytes exceeds 2^32 chunks", ErrIntegrity, n)
	case last < TagSize, last == TagSize && chunks > 1:
		return 0, 0, fmt.Errorf("%w: sealed body of %d bytes ends in a malformed chunk", ErrIntegrity, n)
	}
	return chunks, last, nil
}
