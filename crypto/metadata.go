package crypto

import (
	"crypto/cipher"
	"fmt"
	"io"
)

// MetadataHeaderSize is the size of the header of sealed metadata: magic,
// kind, version, suite and a 32-byte salt. Sealed metadata is the header,
// the ciphertext and a 16-byte tag.
const MetadataHeaderSize = prefixSize + 1 + saltSize

// MetadataOverhead is how many bytes sealing adds to metadata.
const MetadataOverhead = MetadataHeaderSize + 16

const metadataInfo = "khomat v1 metadata"

// SealMetadata encrypts and authenticates a document version's metadata
// with a key derived from dk (separate from the content key), binding ad,
// which the caller builds from what the metadata must not be moved away
// from (document id, version, metadata revision). It draws a 32-byte salt
// from rand, so dk may seal any number of metadata revisions.
func SealMetadata(dk *DataKey, suite Suite, ad, plaintext []byte, rand io.Reader) ([]byte, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	if !suite.valid() {
		return nil, fmt.Errorf("crypto: unknown suite %d", uint8(suite))
	}
	out := make([]byte, MetadataHeaderSize, MetadataOverhead+len(plaintext))
	putPrefix(out, kindMetadata)
	out[prefixSize] = byte(suite)
	if err := readRandom(rand, out[prefixSize+1:]); err != nil {
		return nil, fmt.Errorf("crypto: reading random salt: %w", err)
	}
	aead, nonce, fullAD, err := metadataAEAD(dk, out, ad)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, plaintext, fullAD), nil
}

// OpenMetadata authenticates and decrypts metadata sealed by SealMetadata
// with the same dk and ad. Any failure to authenticate is ErrIntegrity.
func OpenMetadata(dk *DataKey, ad, sealed []byte) ([]byte, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	if err := checkPrefix(sealed, kindMetadata, "metadata record"); err != nil {
		return nil, err
	}
	if len(sealed) < MetadataOverhead {
		return nil, fmt.Errorf("%w: metadata record of %d bytes is truncated", ErrIntegrity, len(sealed))
	}
	aead, nonce, fullAD, err := metadataAEAD(dk, sealed[:MetadataHeaderSize], ad)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nonce, sealed[MetadataHeaderSize:], fullAD)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata record", ErrIntegrity)
	}
	return plaintext, nil
}

// metadataAEAD derives the AEAD and nonce of one metadata record from its
// header. The AEAD's associated data is the header followed by the caller's
// ad; the header has a fixed size, so the concatenation is unambiguous.
func metadataAEAD(dk *DataKey, header, ad []byte) (aead cipher.AEAD, nonce, fullAD []byte, err error) {
	suite := Suite(header[prefixSize])
	if !suite.valid() {
		return nil, nil, nil, fmt.Errorf("%w: unknown suite %d in metadata header", ErrIntegrity, uint8(suite))
	}
	salt := header[prefixSize+1 : MetadataHeaderSize]
	a, nonce, err := derive(suite, dk.key[:], salt, suiteInfo(metadataInfo, suite), suite.nonceSize())
	if err != nil {
		return nil, nil, nil, err
	}
	fullAD = append(append(make([]byte, 0, MetadataHeaderSize+len(ad)), header[:MetadataHeaderSize]...), ad...)
	return a, nonce, fullAD, nil
}
