package crypto

import (
	"errors"
	"fmt"
	"io"

	"khomat/crypto/internal/stream"
)

// Every Khomat format starts with the magic, a kind byte and a format
// version byte (docs/FORMAT.md).
const (
	magic         = "KHMT"
	formatVersion = 1
	prefixSize    = 6 // magic, kind, version
	saltSize      = 32

	kindContent  = 'C'
	kindMetadata = 'M'
	kindEnvelope = 'E'
	kindKeyring  = 'K'
)

// ChunkSize is the plaintext size of each content chunk but the last.
const ChunkSize = stream.ChunkSize

// ContentHeaderSize is the size of the header that starts every content
// stream: magic, kind, version, suite and a 32-byte salt.
const ContentHeaderSize = prefixSize + 1 + saltSize

const contentInfo = "khomat v1 content"

// putPrefix writes the common magic, kind and version.
func putPrefix(dst []byte, kind byte) {
	copy(dst, magic)
	dst[len(magic)] = kind
	dst[len(magic)+1] = formatVersion
}

// checkPrefix verifies the common magic, kind and version; a failure is an
// integrity failure, since the bytes are not what the caller stored.
func checkPrefix(b []byte, kind byte, what string) error {
	if len(b) < prefixSize || string(b[:len(magic)]) != magic || b[len(magic)] != kind {
		return fmt.Errorf("%w: not a Khomat %s", ErrIntegrity, what)
	}
	if v := b[len(magic)+1]; v != formatVersion {
		return fmt.Errorf("%w: %s format version %d is not supported", ErrIntegrity, what, v)
	}
	return nil
}

// NewEncryptWriter returns a writer that encrypts the content of the
// document version b with dk under suite and writes it to dst: a header,
// then chunks of ChunkSize bytes sealed with the STREAM construction. It
// draws a 32-byte salt from rand. Close must be called to write the final
// chunk (without it the stream is truncated and will not decrypt); Close
// does not close dst. The writer holds only a key derived from dk, so dk may
// be destroyed once NewEncryptWriter returns. Memory use is constant: about
// two chunks.
func NewEncryptWriter(dst io.Writer, dk *DataKey, b Binding, suite Suite, rand io.Reader) (io.WriteCloser, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	if !suite.valid() {
		return nil, fmt.Errorf("crypto: unknown suite %d", uint8(suite))
	}
	header := make([]byte, ContentHeaderSize)
	putPrefix(header, kindContent)
	header[prefixSize] = byte(suite)
	if err := readRandom(rand, header[prefixSize+1:]); err != nil {
		return nil, fmt.Errorf("crypto: reading random salt: %w", err)
	}
	c, err := contentCipher(dk, header, b)
	if err != nil {
		return nil, err
	}
	return stream.NewWriter(dst, c, header), nil
}

// NewDecryptReader reads the header from src and returns a reader of the
// authenticated plaintext of the content of document version b. It reads
// src sequentially, a chunk at a time, and returns a chunk's plaintext only
// once the chunk is authenticated. Any tampering is reported as ErrIntegrity;
// a truncated stream yields part of the plaintext before the error, so the
// plaintext is complete and authentic only when the reader returns io.EOF.
// Errors from src are returned wrapped, not as ErrIntegrity. dk may be
// destroyed once NewDecryptReader returns.
func NewDecryptReader(src io.Reader, dk *DataKey, b Binding) (io.Reader, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	header := make([]byte, ContentHeaderSize)
	if _, err := io.ReadFull(src, header); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: content shorter than its header", ErrIntegrity)
		}
		return nil, fmt.Errorf("crypto: reading content header: %w", err)
	}
	c, err := contentCipher(dk, header, b)
	if err != nil {
		return nil, err
	}
	return stream.NewReader(src, c), nil
}

// contentCipher checks a content header and derives the stream's chunk
// cipher. The associated data of every chunk is the header followed by the
// binding, so the suite, the salt and the document version are all
// authenticated by every chunk.
func contentCipher(dk *DataKey, header []byte, b Binding) (*stream.Cipher, error) {
	if err := checkPrefix(header, kindContent, "content stream"); err != nil {
		return nil, err
	}
	suite := Suite(header[prefixSize])
	if !suite.valid() {
		return nil, fmt.Errorf("%w: unknown suite %d in content header", ErrIntegrity, uint8(suite))
	}
	salt := header[prefixSize+1 : ContentHeaderSize]
	aead, prefix, err := derive(suite, dk.key[:], salt, suiteInfo(contentInfo, suite), suite.nonceSize()-5)
	if err != nil {
		return nil, err
	}
	ad := make([]byte, 0, ContentHeaderSize+bindingSize)
	ad = b.appendTo(append(ad, header[:ContentHeaderSize]...))
	return stream.New(aead, prefix, ad)
}

// CiphertextSize is the exact stored size of content of plainSize bytes,
// header included: the Content-Length of an upload.
func CiphertextSize(plainSize int64) (int64, error) {
	n, err := stream.EncryptedSize(plainSize)
	if err != nil {
		return 0, fmt.Errorf("crypto: %w", err)
	}
	if n > (1<<63-1)-ContentHeaderSize {
		return 0, fmt.Errorf("crypto: plaintext of %d bytes is too large", plainSize)
	}
	return ContentHeaderSize + n, nil
}

// PlaintextSize is the plaintext size of stored content of ctSize bytes. A
// size that no content can have returns ErrIntegrity. The result is only as
// authentic as ctSize; OpenRange authenticates it.
func PlaintextSize(ctSize int64) (int64, error) {
	if ctSize < ContentHeaderSize {
		return 0, fmt.Errorf("%w: content shorter than its header", ErrIntegrity)
	}
	return stream.DecryptedSize(ctSize - ContentHeaderSize)
}

// RangeReader decrypts byte ranges of stored content without reading the
// rest of it, for answering HTTP range requests. It is safe for concurrent
// use.
type RangeReader struct {
	r *stream.ReaderAt
}

// OpenRange opens the stored content of document version b held in src,
// whose total stored size is ctSize (from a stat of the object). It reads
// the header and the final chunk — one ReadAt when the content is a single
// chunk, two otherwise — and authenticates the final chunk, so Size is the
// authentic plaintext size and a truncated or extended object fails here
// with ErrIntegrity. Later reads fetch chunks in batches of about 1 MiB, one
// ReadAt per batch, and never the whole range at once. dk may be destroyed
// once OpenRange returns.
func OpenRange(src io.ReaderAt, ctSize int64, dk *DataKey, b Binding) (*RangeReader, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	if _, err := PlaintextSize(ctSize); err != nil {
		return nil, err
	}
	body := ctSize - ContentHeaderSize
	var header, final []byte
	if body <= stream.EncChunkSize {
		// A single chunk: fetch header and chunk together.
		all := make([]byte, ctSize)
		if err := readFullAt(src, all, 0); err != nil {
			return nil, err
		}
		header, final = all[:ContentHeaderSize], all[ContentHeaderSize:]
	} else {
		header = make([]byte, ContentHeaderSize)
		if err := readFullAt(src, header, 0); err != nil {
			return nil, err
		}
	}
	c, err := contentCipher(dk, header, b)
	if err != nil {
		return nil, err
	}
	r, err := stream.NewReaderAt(src, ContentHeaderSize, body, c, final)
	if err != nil {
		return nil, err
	}
	return &RangeReader{r: r}, nil
}

func readFullAt(src io.ReaderAt, p []byte, off int64) error {
	n, err := src.ReadAt(p, off)
	switch {
	case n == len(p):
		return nil
	case err == nil, errors.Is(err, io.EOF):
		return fmt.Errorf("%w: content shorter than its stated size", ErrIntegrity)
	default:
		return fmt.Errorf("crypto: reading content: %w", err)
	}
}

// Size is the authentic plaintext size.
func (r *RangeReader) Size() int64 { return r.r.Size() }

// ReadAt reads len(p) bytes of plaintext at offset off, with the semantics
// of io.ReaderAt. It reads only the chunks that cover the range, in batches.
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	return r.r.ReadAt(p, off)
}

// Section returns a reader of the n bytes of plaintext starting at off,
// which must lie within Size. It holds at most one batch of chunks (about
// 1 MiB) in memory whatever n is, and implements io.WriterTo so io.Copy
// avoids an extra copy. A Section is not safe for concurrent use, but many
// Sections of one RangeReader may be read concurrently.
func (r *RangeReader) Section(off, n int64) (io.Reader, error) {
	s, err := r.r.Section(off, n)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	return s, nil
}
