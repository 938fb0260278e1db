package identity

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"khomat/archive/store"
	"khomat/crypto"
)

// SystemKeyObject is the object of the system key. Every running server
// has read it, so its metadata being readable is the server's readiness
// check of the store.
const SystemKeyObject = "users/key"

// The object names of the identity records (docs/FORMAT.md, "Identity
// records").
const (
	userPrefix    = "users/"
	namePrefix    = "users/by-name/"
	keyObject     = SystemKeyObject
	sessionPrefix = "sessions/"
	// maxObject bounds what is read of any identity object: a user record
	// with every field at its limit is a few KiB.
	maxObject = 64 << 10
)

// The system key is a data key wrapped under the Tuyệt mật KEK: only a
// keyring that opens the highest level opens the accounts. The binding is
// fixed; "khomat-users-key" is exactly 16 bytes.
const (
	systemKeyName    = "khomat-users-key"
	systemKeyVersion = 1
	systemKeyLevel   = crypto.TopSecret
)

// Labels that separate the uses of the system key. Each sealed object's
// associated data is its label, a zero byte and the object's own name part,
// so no object opens under another name or as another kind.
const (
	adUser     = "khomat v1 user"
	adName     = "khomat v1 username"
	adSession  = "khomat v1 session"
	infoNameID = "khomat v1 username index"
)

func systemBinding() crypto.Binding {
	var b crypto.Binding
	copy(b.DocID[:], systemKeyName)
	b.Version = systemKeyVersion
	return b
}

// keys are what the system key gives: the sealing key of every identity
// object and the HMAC key that names usernames in the index.
type keys struct {
	seal *crypto.DataKey
	name []byte
}

func (k *keys) destroy() {
	k.seal.Destroy()
	clear(k.name)
}

// openKeys reads users/key and unwraps it, creating it first if the bucket
// has none. Of two nodes starting on an empty bucket at once, one creates it
// and the other reads the one created.
func openKeys(ctx context.Context, st store.Store, w crypto.Wrapper, rand io.Reader) (*keys, error) {
	env, err := readObject(ctx, st, keyObject)
	if errors.Is(err, store.ErrNotExist) {
		env, err = createKey(ctx, st, w, rand)
	}
	if err != nil {
		return nil, err
	}
	dk, err := w.Unwrap(env, systemKeyLevel, systemBinding())
	if err != nil {
		return nil, fmt.Errorf("identity: unwrapping %s: %w", keyObject, err)
	}
	raw, err := dk.Bytes()
	if err != nil {
		dk.Destroy()
		return nil, fmt.Errorf("identity: system key: %w", err)
	}
	defer clear(raw)
	name, err := hkdf.Key(sha256.New, raw, nil, infoNameID, sha256.Size)
	if err != nil {
		dk.Destroy()
		return nil, fmt.Errorf("identity: deriving the username key: %w", err)
	}
	return &keys{seal: dk, name: name}, nil
}

func createKey(ctx context.Context, st store.Store, w crypto.Wrapper, rand io.Reader) ([]byte, error) {
	dk, err := crypto.NewDataKey(rand)
	if err != nil {
		return nil, fmt.Errorf("identity: new system key: %w", err)
	}
	defer dk.Destroy()
	env, err := w.Wrap(systemKeyLevel, dk, systemBinding())
	if err != nil {
		return nil, fmt.Errorf("identity: wrapping the system key: %w", err)
	}
	_, err = st.Put(ctx, keyObject, bytes.NewReader(env), store.PutOptions{IfAbsent: true})
	if errors.Is(err, store.ErrExist) {
		return readObject(ctx, st, keyObject)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: writing %s: %w", keyObject, err)
	}
	return env, nil
}

// nameID is the opaque name of a canonical username in the index: the hex
// HMAC-SHA-256 of the username under a key derived from the system key. It
// is stable for the life of the system key, and without that key it says
// nothing about the username (not even which of two guesses it is).
func (k *keys) nameID(canonical string) string {
	m := hmac.New(sha256.New, k.name)
	m.Write([]byte(canonical))
	return hex.EncodeToString(m.Sum(nil))
}

func associated(label, name string) []byte {
	return append(append([]byte(label), 0), name...)
}

// seal encrypts and authenticates plaintext bound to label and name.
func (k *keys) sealObject(label, name string, plaintext []byte, rand io.Reader) ([]byte, error) {
	return crypto.SealMetadata(k.seal, crypto.AES256GCM, associated(label, name), plaintext, rand)
}

// open reverses seal; any failure is ErrIntegrity.
func (k *keys) openObject(label, name string, sealed []byte) ([]byte, error) {
	b, err := crypto.OpenMetadata(k.seal, associated(label, name), sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrIntegrity, label, name, err)
	}
	return b, nil
}

// readObject reads a whole small object. A missing one is store.ErrNotExist
// (wrapped); one larger than maxObject is ErrIntegrity.
func readObject(ctx context.Context, st store.Store, key string) ([]byte, error) {
	b, _, err := readObjectInfo(ctx, st, key)
	return b, err
}

func readObjectInfo(ctx context.Context, st store.Store, key string) ([]byte, store.Info, error) {
	rc, info, err := st.Get(ctx, key, nil)
	if err != nil {
		return nil, store.Info{}, fmt.Errorf("identity: reading %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObject+1))
	if err != nil {
		return nil, store.Info{}, fmt.Errorf("identity: reading %s: %w", key, err)
	}
	if len(b) > maxObject {
		return nil, store.Info{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrIntegrity, key, maxObject)
	}
	return b, info, nil
}
