package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// Suite names the AEAD that seals content and metadata. It is recorded in
// every header, so a reader never needs to be told which suite was used.
type Suite uint8

// The suites. AES256GCM is the default: with AES-NI it runs 2–3× faster than
// ChaCha20 on the project's machines. XChaCha20Poly1305 is for hosts without
// AES hardware.
const (
	AES256GCM         Suite = 1
	XChaCha20Poly1305 Suite = 2
)

// String returns the suite's conventional name.
func (s Suite) String() string {
	switch s {
	case AES256GCM:
		return "AES-256-GCM"
	case XChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	}
	return fmt.Sprintf("Suite(%d)", uint8(s))
}

// ParseSuite returns the suite named name (as String spells it, any case).
func ParseSuite(name string) (Suite, error) {
	for _, s := range []Suite{AES256GCM, XChaCha20Poly1305} {
		if strings.EqualFold(name, s.String()) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("crypto: unknown suite %q (want AES-256-GCM or XChaCha20-Poly1305)", name)
}

func (s Suite) valid() bool { return s == AES256GCM || s == XChaCha20Poly1305 }

func (s Suite) nonceSize() int {
	if s == XChaCha20Poly1305 {
		return chacha20poly1305.NonceSizeX
	}
	return 12
}

func (s Suite) newAEAD(key []byte) (cipher.AEAD, error) {
	switch s {
	case AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	case XChaCha20Poly1305:
		return chacha20poly1305.NewX(key)
	}
	return nil, fmt.Errorf("crypto: unknown suite %d", uint8(s))
}

// derive expands secret and salt with HKDF-SHA-256 under info into a
// 256-bit key for suite, returned as an AEAD, followed by extra bytes of
// nonce material. The key bytes are zeroed before returning; the AEAD's
// expanded key schedule lives until it is collected, which Go gives no way
// to erase.
func derive(s Suite, secret, salt []byte, info string, extra int) (cipher.AEAD, []byte, error) {
	okm, err := hkdf.Key(sha256.New, secret, salt, info, KeySize+extra)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: deriving key: %w", err)
	}
	defer clear(okm[:KeySize])
	aead, err := s.newAEAD(okm[:KeySize])
	if err != nil {
		return nil, nil, err
	}
	return aead, okm[KeySize:], nil
}

// suiteInfo appends the suite to an HKDF label: the same data key and salt
// under two suites must not give the same key.
func suiteInfo(label string, s Suite) string {
	return label + "\x00" + string([]byte{byte(s)})
}

// KeySize is the size in bytes of data keys, KEKs and master keys.
const KeySize = 32

// DataKey is the 256-bit key of one document version. Its bytes stay inside
// this package, except through Bytes for a Wrapper backed by an external key
// manager. Call Destroy when done with it.
type DataKey struct {
	key [KeySize]byte
	// live is set by the constructors and cleared by Destroy, so that
	// neither a zero DataKey nor a destroyed one ever acts as an all-zero
	// key.
	live bool
}

var errNoKey = errors.New("crypto: data key is destroyed or was never made by NewDataKey")

// NewDataKey returns a fresh data key read from rand.
func NewDataKey(rand io.Reader) (*DataKey, error) {
	dk := &DataKey{live: true}
	if err := readRandom(rand, dk.key[:]); err != nil {
		return nil, fmt.Errorf("crypto: reading random data key: %w", err)
	}
	return dk, nil
}

// DataKeyFromBytes returns a data key holding a copy of b, which must be
// KeySize bytes. It exists for Wrapper implementations that unwrap data keys
// outside this package; the caller should zero b afterwards.
func DataKeyFromBytes(b []byte) (*DataKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("crypto: data key is %d bytes, want %d", len(b), KeySize)
	}
	dk := &DataKey{live: true}
	copy(dk.key[:], b)
	return dk, nil
}

// Bytes returns a copy of the key, for Wrapper implementations that wrap
// data keys outside this package. The caller must zero it after use and must
// never store or log it.
func (dk *DataKey) Bytes() ([]byte, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	return append([]byte(nil), dk.key[:]...), nil
}

// Destroy zeroes the key. Every later use of it fails. Readers and writers
// already made from it keep working: they hold derived keys only. Destroy
// must not run concurrently with another use of dk.
func (dk *DataKey) Destroy() {
	if dk == nil {
		return
	}
	clear(dk.key[:])
	dk.live = false
}

func (dk *DataKey) check() error {
	if dk == nil || !dk.live {
		return errNoKey
	}
	return nil
}

// readRandom fills p from rand, refusing a nil source rather than
// panicking on it.
func readRandom(rand io.Reader, p []byte) error {
	if rand == nil {
		return errors.New("no random source")
	}
	_, err := io.ReadFull(rand, p)
	return err
}

// Binding names the document version that content, metadata and envelopes
// belong to. It is authenticated, never stored secretly: content or an
// envelope moved onto another document or version fails to open.
type Binding struct {
	DocID   [16]byte
	Version uint32
}

const bindingSize = 16 + 4

func (b Binding) appendTo(dst []byte) []byte {
	dst = append(dst, b.DocID[:]...)
	return append(dst, byte(b.Version>>24), byte(b.Version>>16), byte(b.Version>>8), byte(b.Version))
}

// Level is a secrecy level. Each level has its own key-encryption keys, so a
// compromised key of one level exposes no document of another. The values
// match archive/access's levels; callers convert.
type Level uint8

// The levels, in increasing secrecy.
const (
	Unclassified Level = 0 // not classified
	Confidential Level = 1 // Mật
	Secret       Level = 2 // Tối mật
	TopSecret    Level = 3 // Tuyệt mật

	// NumLevels is the number of levels; valid levels are 0 to NumLevels-1.
	NumLevels = 4
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case Unclassified:
		return "unclassified"
	case Confidential:
		return "confidential"
	case Secret:
		return "secret"
	case TopSecret:
		return "top_secret"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Valid tells whether l is one of the defined levels.
func (l Level) Valid() bool { return l < NumLevels }
