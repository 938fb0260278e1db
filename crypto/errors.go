package crypto

import (
	"errors"

	"khomat/crypto/internal/stream"
)

// Errors returned, wrapped with context, by this package. Test them with
// errors.Is.
var (
	// ErrIntegrity is the one error for every authentication failure of
	// content, metadata and envelopes: a flipped bit, a truncated or
	// extended stream, reordered or foreign chunks, a wrong data key or
	// KEK, a wrong binding or level, or bytes in no known format. It does
	// not say which, by design.
	ErrIntegrity = stream.ErrIntegrity

	// ErrWrongMasterKey means a keyring file is intact but the passphrase
	// or key file given does not open it.
	ErrWrongMasterKey = errors.New("crypto: wrong passphrase or key file for this keyring")

	// ErrCorruptKeyring means a keyring file is damaged, truncated, not a
	// keyring file at all, or in a format version this build cannot read.
	ErrCorruptKeyring = errors.New("crypto: keyring file is corrupt or unreadable")

	// ErrKeyNotFound means the keyring has no KEK of the level and version
	// an envelope names.
	ErrKeyNotFound = errors.New("crypto: no such key-encryption key")

	// ErrKeyRetired means the KEK version an envelope names was retired:
	// its key material is destroyed and nothing it wrapped can be opened.
	ErrKeyRetired = errors.New("crypto: key-encryption key version is retired")

	// ErrActiveKey means an operation that needs an inactive KEK version
	// (retiring it) was asked of the active one.
	ErrActiveKey = errors.New("crypto: key-encryption key version is active")
)
