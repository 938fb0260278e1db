package crypto

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Wrapper wraps data keys under the key-encryption key of a level and
// unwraps them again. The archive depends on this interface only, so an
// external key manager can replace the file-based Keyring; KEK bytes never
// leave the Wrapper.
type Wrapper interface {
	// Wrap returns an envelope holding dk wrapped under the active KEK of
	// level, bound to b, level and the KEK version.
	Wrap(level Level, dk *DataKey, b Binding) ([]byte, error)
	// Unwrap returns the data key in envelope, which must be bound to
	// level and b. A tampered or misbound envelope is ErrIntegrity.
	Unwrap(envelope []byte, level Level, b Binding) (*DataKey, error)
}

// Rewrap unwraps envelope (bound to from and b) and wraps its data key under
// the active KEK of level to, for reclassification and key rotation: the
// content and metadata, encrypted under the data key, stay as they are.
func Rewrap(w Wrapper, envelope []byte, from Level, b Binding, to Level) ([]byte, error) {
	dk, err := w.Unwrap(envelope, from, b)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	return w.Wrap(to, dk, b)
}

// Envelope layout (docs/FORMAT.md): the prefix, level, KEK version, binding
// and salt form the header, which is the associated data of the wrapped key.
const (
	envLevel      = prefixSize
	envKEKVersion = envLevel + 1
	envBinding    = envKEKVersion + 4
	envSalt       = envBinding + bindingSize
	envHeaderSize = envSalt + saltSize

	// EnvelopeSize is the size of every envelope the Keyring writes.
	EnvelopeSize = envHeaderSize + KeySize + 16
)

const envelopeInfo = "khomat v1 envelope"

// EnvelopeInfo is what an envelope says about itself in the clear.
type EnvelopeInfo struct {
	Level      Level
	KEKVersion uint32
	Binding    Binding
}

// ParseEnvelope reads the level, KEK version and binding an envelope written
// by the Keyring declares, without any key: a rewrap pass uses it to find
// envelopes under old KEK versions, and a retirement check to prove none is
// left. The fields are not authenticated until Unwrap succeeds. A malformed
// envelope is ErrIntegrity.
func ParseEnvelope(envelope []byte) (EnvelopeInfo, error) {
	if err := checkPrefix(envelope, kindEnvelope, "envelope"); err != nil {
		return EnvelopeInfo{}, err
	}
	if len(envelope) != EnvelopeSize {
		return EnvelopeInfo{}, fmt.Errorf("%w: envelope of %d bytes, want %d", ErrIntegrity, len(envelope), EnvelopeSize)
	}
	info := EnvelopeInfo{
		Level:      Level(envelope[envLevel]),
		KEKVersion: binary.BigEndian.Uint32(envelope[envKEKVersion:]),
		Binding:    Binding{Version: binary.BigEndian.Uint32(envelope[envBinding+16:])},
	}
	copy(info.Binding.DocID[:], envelope[envBinding:])
	if !info.Level.Valid() {
		return EnvelopeInfo{}, fmt.Errorf("%w: envelope names unknown level %d", ErrIntegrity, uint8(info.Level))
	}
	if info.KEKVersion == 0 {
		return EnvelopeInfo{}, fmt.Errorf("%w: envelope names KEK version 0", ErrIntegrity)
	}
	return info, nil
}

// sealEnvelope wraps dk under kek, the KEK of level at version. The wrapping
// key and nonce are derived from kek and a fresh salt, so nonces never
// repeat under a KEK however many envelopes it wraps.
func sealEnvelope(kek []byte, level Level, version uint32, b Binding, dk *DataKey, rand io.Reader) ([]byte, error) {
	out := make([]byte, envHeaderSize, EnvelopeSize)
	putPrefix(out, kindEnvelope)
	out[envLevel] = byte(level)
	binary.BigEndian.PutUint32(out[envKEKVersion:], version)
	b.appendTo(out[envBinding:envBinding])
	if err := readRandom(rand, out[envSalt:envHeaderSize]); err != nil {
		return nil, fmt.Errorf("crypto: reading random salt: %w", err)
	}
	aead, nonce, err := derive(AES256GCM, kek, out[envSalt:envHeaderSize], envelopeInfo, AES256GCM.nonceSize())
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, dk.key[:], out[:envHeaderSize]), nil
}

// openEnvelope unwraps an envelope already checked by ParseEnvelope against
// the expected level and binding.
func openEnvelope(kek, envelope []byte) (*DataKey, error) {
	aead, nonce, err := derive(AES256GCM, kek, envelope[envSalt:envHeaderSize], envelopeInfo, AES256GCM.nonceSize())
	if err != nil {
		return nil, err
	}
	dk := &DataKey{live: true}
	if _, err := aead.Open(dk.key[:0], nonce, envelope[envHeaderSize:], envelope[:envHeaderSize]); err != nil {
		dk.Destroy()
		return nil, fmt.Errorf("%w: envelope", ErrIntegrity)
	}
	return dk, nil
}
