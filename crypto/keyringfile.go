package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the Argon2id parameters that turn a passphrase into a
// master key. They are stored in the keyring file, so a file opens with the
// parameters it was sealed with whatever the defaults are by then.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultArgon2Params returns the parameters for new keyring files:
// t=3, m=256 MiB, p=2. That is four times the memory of RFC 9106's second
// recommended option (t=3, m=64 MiB): the keyring is unlocked once per
// server start or admin command, so a quarter of a second on two cores
// (docs/BENCHMARKS.md) buys a fourfold cost per passphrase guess.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 256 << 10, Threads: 2}
}

// Bounds on Argon2id parameters, checked when sealing and when opening: a
// keyring file cannot make Khomat allocate more than 4 GiB or spin for
// hours.
const (
	maxArgon2Time   = 100
	maxArgon2Memory = 4 << 20 // KiB
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id time %d outside 1..%d", p.Time, maxArgon2Time)
	case p.Threads < 1:
		return errors.New("argon2id needs at least one thread")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2Memory:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxArgon2Memory)
	}
	return nil
}

// The kinds of master key, as recorded in a keyring file.
const (
	masterPassphrase = 1
	masterKeyFile    = 2
)

// MasterKey is the secret that seals a keyring file: a passphrase, stretched
// with Argon2id, or the 32 random bytes of a key file. It is kept apart from
// the bucket (docs/SECURITY.md). A MasterKey is immutable and safe for
// concurrent use until Destroy.
type MasterKey struct {
	kind   byte
	secret []byte
	params Argon2Params // for a passphrase, when sealing
}

// MasterKeyFromPassphrase returns a master key from a passphrase. params
// apply when sealing (use DefaultArgon2Params); opening a file uses the
// parameters stored in it. pass is copied; the caller may zero it.
func MasterKeyFromPassphrase(pass []byte, params Argon2Params) (*MasterKey, error) {
	if len(pass) == 0 {
		return nil, errors.New("crypto: empty passphrase")
	}
	if err := params.validate(); err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	return &MasterKey{kind: masterPassphrase, secret: append([]byte(nil), pass...), params: params}, nil
}

// MasterKeyFromFile reads a key file written by GenerateKeyFile: exactly
// KeySize random bytes.
func MasterKeyFromFile(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: reading key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("crypto: reading key file: %w", err)
	}
	defer clear(b)
	if len(b) != KeySize {
		return nil, fmt.Errorf("crypto: key file %s is not a %d-byte key", path, KeySize)
	}
	return &MasterKey{kind: masterKeyFile, secret: append([]byte(nil), b...)}, nil
}

// GenerateKeyFile writes a new key file of KeySize bytes from rand at path,
// with mode 0600. It never overwrites: losing a key file loses the keyring.
func GenerateKeyFile(path string, rand io.Reader) error {
	key := make([]byte, KeySize)
	defer clear(key)
	if err := readRandom(rand, key); err != nil {
		return fmt.Errorf("crypto: reading random key: %w", err)
	}
	if err := writeFileAtomic(path, key, true); err != nil {
		return fmt.Errorf("crypto: writing key file: %w", err)
	}
	return nil
}

// Destroy zeroes the passphrase or key. The master key is unusable
// afterwards.
func (m *MasterKey) Destroy() {
	clear(m.secret)
	m.secret = nil
}

func (m *MasterKey) kindName() string {
	if m.kind == masterKeyFile {
		return "key file"
	}
	return "passphrase"
}

// Keyring file layout (docs/FORMAT.md): header, sealed body, SHA-256 of all
// that precedes it.
const (
	krKind      = prefixSize
	krTime      = krKind + 1
	krMemory    = krTime + 4
	krThreads   = krMemory + 4
	krSalt      = krThreads + 1
	krCheck     = krSalt + saltSize
	krHeaderLen = krCheck + 32
	krSumLen    = sha256.Size
	krMinLen    = krHeaderLen + 16 + krSumLen

	// maxKeyringFile bounds what ReadKeyringFile reads: a million KEK
	// versions fit in it.
	maxKeyringFile = 64 << 20
)

const keyringInfo = "khomat v1 keyring"

// masterKeys derives from the master key and a file's salt the check value
// that tells a wrong master key from a damaged file, and the AEAD key and
// nonce that seal the body.
func (m *MasterKey) masterKeys(salt []byte, kind byte, params Argon2Params) (check, key, nonce []byte, err error) {
	if len(m.secret) == 0 {
		return nil, nil, nil, errors.New("crypto: master key was destroyed")
	}
	ikm := m.secret
	if kind == masterPassphrase {
		ikm = argon2.IDKey(m.secret, salt, params.Time, params.MemoryKiB, params.Threads, KeySize)
		defer clear(ikm)
	}
	okm, err := hkdf.Key(sha256.New, ikm, salt, keyringInfo, 32+KeySize+12)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("crypto: deriving keyring key: %w", err)
	}
	return okm[:32], okm[32 : 32+KeySize], okm[32+KeySize:], nil
}

// Seal returns the keyring sealed under m as the bytes of a keyring file.
// It draws a fresh 32-byte salt from the keyring's rand, so every seal of a
// passphrase-sealed keyring runs Argon2id once with m's parameters. Sealing
// again under another master key is how a passphrase is changed: the KEKs,
// and so every envelope, stay as they are.
func (k *Keyring) Seal(m *MasterKey) ([]byte, error) {
	if m == nil {
		return nil, errors.New("crypto: sealing keyring: no master key")
	}
	k.mu.RLock()
	for l, versions := range k.levels {
		if len(versions) == 0 {
			k.mu.RUnlock()
			return nil, fmt.Errorf("crypto: sealing keyring: no KEK for level %s", Level(l))
		}
	}
	k.mu.RUnlock()
	out := make([]byte, krHeaderLen, krMinLen)
	putPrefix(out, kindKeyring)
	out[krKind] = m.kind
	if m.kind == masterPassphrase {
		binary.BigEndian.PutUint32(out[krTime:], m.params.Time)
		binary.BigEndian.PutUint32(out[krMemory:], m.params.MemoryKiB)
		out[krThreads] = m.params.Threads
	}
	k.randMu.Lock()
	err := readRandom(k.rand, out[krSalt:krCheck])
	k.randMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("crypto: sealing keyring: reading random salt: %w", err)
	}
	check, key, nonce, err := m.masterKeys(out[krSalt:krCheck], m.kind, m.params)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	copy(out[krCheck:], check)
	aead, err := AES256GCM.newAEAD(key)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	body := k.marshal()
	k.mu.RUnlock()
	defer clear(body)
	out = aead.Seal(out, nonce, body, out[:krHeaderLen])
	sum := sha256.Sum256(out)
	return append(out, sum[:]...), nil
}

// OpenKeyring opens the bytes of a keyring file with m. A file that is
// intact but sealed under another passphrase or key file, or under the other
// kind of master key, is ErrWrongMasterKey; a damaged, truncated or foreign
// file, or one in a newer format, is ErrCorruptKeyring. The keyring keeps
// rand to wrap and rotate.
func OpenKeyring(data []byte, m *MasterKey, rand io.Reader) (*Keyring, error) {
	if m == nil {
		return nil, errors.New("crypto: opening keyring: no master key")
	}
	if len(data) < krMinLen || string(data[:len(magic)]) != magic || data[len(magic)] != kindKeyring {
		return nil, fmt.Errorf("%w: not a Khomat keyring file", ErrCorruptKeyring)
	}
	body, sum := data[:len(data)-krSumLen], data[len(data)-krSumLen:]
	if want := sha256.Sum256(body); subtle.ConstantTimeCompare(sum, want[:]) != 1 {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged or truncated)", ErrCorruptKeyring)
	}
	if v := data[prefixSize-1]; v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d is not supported by this build", ErrCorruptKeyring, v)
	}
	kind := data[krKind]
	params := Argon2Params{
		Time:      binary.BigEndian.Uint32(data[krTime:]),
		MemoryKiB: binary.BigEndian.Uint32(data[krMemory:]),
		Threads:   data[krThreads],
	}
	switch kind {
	case masterPassphrase:
		if err := params.validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
		}
	case masterKeyFile:
		if params != (Argon2Params{}) {
			return nil, fmt.Errorf("%w: key-file keyring with Argon2id parameters", ErrCorruptKeyring)
		}
	default:
		return nil, fmt.Errorf("%w: unknown master key kind %d", ErrCorruptKeyring, kind)
	}
	if kind != m.kind {
		other := &MasterKey{kind: kind}
		return nil, fmt.Errorf("%w: the keyring is sealed with a %s, not a %s", ErrWrongMasterKey, other.kindName(), m.kindName())
	}
	check, key, nonce, err := m.masterKeys(data[krSalt:krCheck], kind, params)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if subtle.ConstantTimeCompare(check, data[krCheck:krHeaderLen]) != 1 {
		return nil, fmt.Errorf("%w: the %s does not match", ErrWrongMasterKey, m.kindName())
	}
	aead, err := AES256GCM.newAEAD(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, body[krHeaderLen:], body[:krHeaderLen])
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (the file was altered)", ErrCorruptKeyring)
	}
	defer clear(plain)
	levels, err := unmarshalKeyring(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
	}
	return &Keyring{levels: levels, rand: rand}, nil
}

// WriteFile seals the keyring under m and replaces the file at path
// atomically: a temporary file in the same folder, mode 0600, is written
// and synced, renamed over path, and the folder is synced. A crash leaves
// either the old file or the new one.
func (k *Keyring) WriteFile(path string, m *MasterKey) error {
	data, err := k.Seal(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data, false); err != nil {
		return fmt.Errorf("crypto: writing keyring file: %w", err)
	}
	return nil
}

// ReadKeyringFile reads and opens the keyring file at path with m; see
// OpenKeyring for its errors.
func ReadKeyringFile(path string, m *MasterKey, rand io.Reader) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: reading keyring file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringFile+1))
	if err != nil {
		return nil, fmt.Errorf("crypto: reading keyring file: %w", err)
	}
	if len(data) > maxKeyringFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorruptKeyring, maxKeyringFile)
	}
	return OpenKeyring(data, m, rand)
}

// ChangeMasterKey re-seals the keyring file at path, opened with old, under
// next (a new passphrase, new Argon2id parameters, or a key file instead of
// a passphrase). Only the file changes; envelopes and content stay as they
// are. rand supplies the new salt.
func ChangeMasterKey(path string, old, next *MasterKey, rand io.Reader) error {
	k, err := ReadKeyringFile(path, old, rand)
	if err != nil {
		return err
	}
	defer k.Destroy()
	return k.WriteFile(path, next)
}

// writeFileAtomic writes data to path through a synced temporary file with
// mode 0600 in the same folder, then syncs the folder. With exclusive it
// fails if path exists (a hard link cannot replace a file); otherwise it
// renames over it.
func writeFileAtomic(path string, data []byte, exclusive bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil || exclusive {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if exclusive {
		err = os.Link(tmp, path)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
