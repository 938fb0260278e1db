package crypto

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"
)

// Keyring holds the key-encryption keys (KEKs) of every level, each level
// with versions 1, 2, ... The latest version of a level is active: it wraps
// new data keys. Older versions still unwrap until they are retired;
// retiring destroys a version's key material, so nothing wrapped under it
// can be opened again (use it only after a rewrap pass has moved every
// envelope off that version). A Keyring is safe for concurrent use; its KEK
// bytes never leave it except sealed (Seal, WriteFile).
type Keyring struct {
	mu     sync.RWMutex
	levels [NumLevels][]kek // levels[l][v-1] is version v of level l

	randMu sync.Mutex // rand need not be safe for concurrent use
	rand   io.Reader
}

var _ Wrapper = (*Keyring)(nil)

// kek is one KEK version. Times are Unix seconds, kept as stored so that a
// keyring file round-trips exactly.
type kek struct {
	created int64
	retired int64 // meaningful only if isRetired
	// isRetired: the version unwraps nothing and key is zero.
	isRetired bool
	key       [KeySize]byte
}

// KeyVersion describes one KEK version (never its key).
type KeyVersion struct {
	Level   Level
	Version uint32
	Created time.Time
	Retired time.Time // zero unless retired
	Active  bool      // the version that wraps new data keys
}

// NewKeyring returns a keyring with version 1 of every level's KEK, drawn
// from rand, created at now. The keyring keeps rand to wrap and rotate.
func NewKeyring(rand io.Reader, now time.Time) (*Keyring, error) {
	k := &Keyring{rand: rand}
	for l := range Level(NumLevels) {
		if _, err := k.Rotate(l, now); err != nil {
			k.Destroy()
			return nil, err
		}
	}
	return k, nil
}

// Rotate adds a new KEK version to level, drawn from the keyring's rand and
// created at now, and makes it active. It returns the new version. Existing
// envelopes keep opening; rewrap them (Rewrap) to move them to the new
// version before retiring the old one.
func (k *Keyring) Rotate(level Level, now time.Time) (uint32, error) {
	if !level.Valid() {
		return 0, fmt.Errorf("crypto: rotating: %w: level %d", ErrKeyNotFound, uint8(level))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	versions := k.levels[level]
	if uint64(len(versions)) >= 1<<32-1 {
		return 0, fmt.Errorf("crypto: rotating %s: no KEK versions left", level)
	}
	next := kek{created: now.Unix()}
	k.randMu.Lock()
	err := readRandom(k.rand, next.key[:])
	k.randMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("crypto: rotating %s: reading random key: %w", level, err)
	}
	k.levels[level] = append(versions, next)
	return uint32(len(k.levels[level])), nil
}

// Active returns the version of level that wraps new data keys.
func (k *Keyring) Active(level Level) (uint32, error) {
	if !level.Valid() {
		return 0, fmt.Errorf("crypto: %w: level %d", ErrKeyNotFound, uint8(level))
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return uint32(len(k.levels[level])), nil
}

// Versions lists the KEK versions of level, oldest first, retired ones
// included.
func (k *Keyring) Versions(level Level) ([]KeyVersion, error) {
	if !level.Valid() {
		return nil, fmt.Errorf("crypto: %w: level %d", ErrKeyNotFound, uint8(level))
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	versions := k.levels[level]
	out := make([]KeyVersion, len(versions))
	for i, v := range versions {
		out[i] = KeyVersion{
			Level:   level,
			Version: uint32(i + 1),
			Created: time.Unix(v.created, 0).UTC(),
			Active:  i == len(versions)-1,
		}
		if v.isRetired {
			out[i].Retired = time.Unix(v.retired, 0).UTC()
		}
	}
	return out, nil
}

// Retire destroys the key material of a version of level at now, so that
// it unwraps nothing from then on (ErrKeyRetired). The active version cannot
// be retired (ErrActiveKey): rotate first. Retiring a retired version does
// nothing. The keyring does not know whether envelopes remain under the
// version; the caller proves that first, with ParseEnvelope over every
// envelope of the level. Seal or write the keyring afterwards, and destroy
// older copies of the keyring file, or the key survives in them.
func (k *Keyring) Retire(level Level, version uint32, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, err := k.version(level, version)
	if err != nil {
		return fmt.Errorf("crypto: retiring: %w", err)
	}
	if version == uint32(len(k.levels[level])) {
		return fmt.Errorf("crypto: retiring %s version %d: %w; rotate first", level, version, ErrActiveKey)
	}
	if v.isRetired {
		return nil
	}
	clear(v.key[:])
	v.isRetired = true
	v.retired = now.Unix()
	return nil
}

// version returns version of level, retired or not. The caller holds k.mu.
func (k *Keyring) version(level Level, version uint32) (*kek, error) {
	if !level.Valid() || version == 0 || uint64(version) > uint64(len(k.levels[level])) {
		return nil, fmt.Errorf("%w: level %d version %d", ErrKeyNotFound, uint8(level), version)
	}
	return &k.levels[level][version-1], nil
}

// Wrap wraps dk under the active KEK of level, bound to b, level and the
// KEK version, into an envelope of EnvelopeSize bytes (docs/FORMAT.md).
func (k *Keyring) Wrap(level Level, dk *DataKey, b Binding) ([]byte, error) {
	if err := dk.check(); err != nil {
		return nil, err
	}
	if !level.Valid() {
		return nil, fmt.Errorf("crypto: wrapping: %w: level %d", ErrKeyNotFound, uint8(level))
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	active := uint32(len(k.levels[level]))
	v, err := k.version(level, active)
	if err != nil {
		return nil, fmt.Errorf("crypto: wrapping: %w", err)
	}
	k.randMu.Lock()
	defer k.randMu.Unlock()
	env, err := sealEnvelope(v.key[:], level, active, b, dk, k.rand)
	if err != nil {
		return nil, fmt.Errorf("crypto: wrapping: %w", err)
	}
	return env, nil
}

// Unwrap returns the data key in envelope. The envelope must be bound to
// level and b: one copied onto another document or version, or relabelled
// to another level or KEK version, is ErrIntegrity. An envelope under a
// retired version is ErrKeyRetired, under a version this keyring never had
// ErrKeyNotFound.
func (k *Keyring) Unwrap(envelope []byte, level Level, b Binding) (*DataKey, error) {
	info, err := ParseEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	if info.Level != level {
		return nil, fmt.Errorf("%w: envelope is for level %s, not %s", ErrIntegrity, info.Level, level)
	}
	if info.Binding != b {
		return nil, fmt.Errorf("%w: envelope is bound to another document version", ErrIntegrity)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	v, err := k.version(level, info.KEKVersion)
	if err != nil {
		return nil, fmt.Errorf("crypto: unwrapping: %w", err)
	}
	if v.isRetired {
		return nil, fmt.Errorf("crypto: unwrapping: %w: %s version %d", ErrKeyRetired, level, info.KEKVersion)
	}
	return openEnvelope(v.key[:], envelope)
}

// Destroy zeroes every KEK. The keyring is unusable afterwards.
func (k *Keyring) Destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for l := range k.levels {
		for i := range k.levels[l] {
			clear(k.levels[l][i].key[:])
		}
		k.levels[l] = nil
	}
}

// The keyring body: the plaintext inside a sealed keyring file
// (docs/FORMAT.md).
const kekRecordSize = 4 + 1 + 8 + 8 + KeySize

// marshal encodes the keyring body. The caller holds k.mu and zeroes the
// result after use.
func (k *Keyring) marshal() []byte {
	n := 1
	for _, versions := range k.levels {
		n += 4 + len(versions)*kekRecordSize
	}
	out := make([]byte, 0, n)
	out = append(out, NumLevels)
	for _, versions := range k.levels {
		out = binary.BigEndian.AppendUint32(out, uint32(len(versions)))
		for i, v := range versions {
			out = binary.BigEndian.AppendUint32(out, uint32(i+1))
			state, retired := byte(0), int64(0)
			if v.isRetired {
				state, retired = 1, v.retired
			}
			out = append(out, state)
			out = binary.BigEndian.AppendUint64(out, uint64(v.created))
			out = binary.BigEndian.AppendUint64(out, uint64(retired))
			out = append(out, v.key[:]...)
		}
	}
	return out
}

// unmarshalKeyring decodes a keyring body, accepting only the canonical
// encoding that marshal produces.
func unmarshalKeyring(b []byte) ([NumLevels][]kek, error) {
	var levels [NumLevels][]kek
	fail := func(format string, args ...any) ([NumLevels][]kek, error) {
		for l := range levels {
			for i := range levels[l] {
				clear(levels[l][i].key[:])
			}
		}
		return [NumLevels][]kek{}, fmt.Errorf("keyring body: "+format, args...)
	}
	if len(b) < 1 || b[0] != NumLevels {
		return fail("want %d levels", NumLevels)
	}
	b = b[1:]
	for l := range levels {
		if len(b) < 4 {
			return fail("truncated at level %d", l)
		}
		count := binary.BigEndian.Uint32(b)
		b = b[4:]
		if count == 0 {
			return fail("level %d has no versions", l)
		}
		if uint64(count) > uint64(len(b)/kekRecordSize) {
			return fail("level %d: %d versions do not fit in %d bytes", l, count, len(b))
		}
		levels[l] = make([]kek, count)
		for i := range levels[l] {
			r := b[:kekRecordSize]
			b = b[kekRecordSize:]
			v := &levels[l][i]
			if binary.BigEndian.Uint32(r) != uint32(i+1) {
				return fail("level %d: version %d out of sequence", l, binary.BigEndian.Uint32(r))
			}
			v.created = int64(binary.BigEndian.Uint64(r[5:]))
			v.retired = int64(binary.BigEndian.Uint64(r[13:]))
			copy(v.key[:], r[21:])
			zero := v.key == [KeySize]byte{}
			switch r[4] {
			case 0:
				if v.retired != 0 || zero {
					return fail("level %d version %d: live version with a retirement time or no key", l, i+1)
				}
			case 1:
				v.isRetired = true
				if !zero {
					return fail("level %d version %d: retired version still holds a key", l, i+1)
				}
				if i == int(count)-1 {
					return fail("level %d: the active version %d is retired", l, i+1)
				}
			default:
				return fail("level %d version %d: unknown state %d", l, i+1, r[4])
			}
		}
	}
	if len(b) != 0 {
		return fail("%d bytes after the last level", len(b))
	}
	return levels, nil
}
