// Package crypto is Khomat's cryptography: streaming encryption of document
// content, sealing of document metadata, a keyring with one versioned
// key-encryption key (KEK) per secrecy level, envelopes that wrap each
// document version's data key under its level's KEK, and the sealed keyring
// file. It uses only the Go standard library and golang.org/x/crypto, and it
// imports nothing else of Khomat.
//
// # Keys
//
// Every document version gets a fresh 256-bit DataKey (NewDataKey). Content
// and metadata are never encrypted with it directly: each stream and each
// sealed metadata record draws a random 256-bit salt, and HKDF-SHA-256 turns
// (data key, salt, purpose, suite) into the AEAD key and nonce material of
// that one message. So the content and metadata keys are separate, and a data
// key may safely encrypt many messages.
//
// A Keyring holds, for each Level, KEK versions 1, 2, ...; the latest is
// active and wraps new data keys, older ones still unwrap until retired. The
// Keyring satisfies Wrapper, the two-method interface the archive uses, so an
// external key manager can replace it; KEK bytes never leave the Keyring.
//
// # Content
//
// NewEncryptWriter and NewDecryptReader encrypt and decrypt a document's
// content as a stream of 64 KiB chunks (the STREAM construction), with the
// document id and version (a Binding) authenticated in every chunk, in
// memory that does not grow with the size. OpenRange decrypts any byte range
// of stored content, reading only the chunks it needs, for HTTP range
// requests.
//
// # Errors
//
// Every failure to authenticate content, metadata or an envelope, whatever
// its cause (tampering, truncation, a wrong key, a wrong binding, bytes that
// are not a Khomat format at all), is reported as ErrIntegrity, wrapped with
// context for the operator's log. Opening a keyring file distinguishes
// ErrWrongMasterKey from ErrCorruptKeyring. No input makes this package
// panic.
//
// # Randomness and state
//
// The package has no mutable package-level state. Every function that needs
// randomness takes an io.Reader: crypto/rand.Reader in production, a
// deterministic source in tests.
//
// The byte formats are specified in docs/FORMAT.md and pinned by the test
// vectors in testdata/; the threat model is in docs/SECURITY.md.
package crypto
