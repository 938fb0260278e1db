package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// cheapArgon2 keeps tests fast; TestDefaultArgon2Params covers the defaults.
var cheapArgon2 = Argon2Params{Time: 1, MemoryKiB: 256, Threads: 1}

func testPassphrase(t testing.TB, pass string) *MasterKey {
	t.Helper()
	m, err := MasterKeyFromPassphrase([]byte(pass), cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testKeyFile(t testing.TB, seed string) *MasterKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := GenerateKeyFile(path, testRand(seed)); err != nil {
		t.Fatal(err)
	}
	m, err := MasterKeyFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameKeyring(t testing.TB, a, b *Keyring) {
	t.Helper()
	if !bytes.Equal(a.marshal(), b.marshal()) {
		t.Fatal("keyrings differ")
	}
}

// fixSum recomputes a keyring file's checksum after a deliberate edit, as
// an attacker who can write the file would.
func fixSum(data []byte) []byte {
	data = bytes.Clone(data)
	sum := sha256.Sum256(data[:len(data)-krSumLen])
	copy(data[len(data)-krSumLen:], sum[:])
	return data
}

func TestKeyringFile(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]*MasterKey{
		"passphrase": testPassphrase(t, "mật khẩu đúng"),
		"key file":   testKeyFile(t, "key file"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := testKeyring(t, "keyring")
			k.Rotate(TopSecret, testTime)
			k.Rotate(TopSecret, testTime)
			if err := k.Retire(TopSecret, 1, testTime); err != nil {
				t.Fatal(err)
			}
			b := testBinding("doc", 1)
			dk := testDataKey(t, "dk")
			env, err := k.Wrap(TopSecret, dk, b)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "keyring")
			if err := k.WriteFile(path, m); err != nil {
				t.Fatal(err)
			}
			// Overwriting goes through a temporary file too.
			if err := k.WriteFile(path, m); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("keyring file mode %v, want 0600", fi.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("folder holds %d entries, want only the keyring", len(entries))
			}
			k2, err := ReadKeyringFile(path, m, testRand("rand"))
			if err != nil {
				t.Fatal(err)
			}
			sameKeyring(t, k, k2)
			if got, err := k2.Unwrap(env, TopSecret, b); err != nil || got.key != dk.key {
				t.Fatalf("envelope after reopening: %v", err)
			}
			// The reopened keyring can wrap and rotate.
			if _, err := k2.Rotate(Unclassified, testTime); err != nil {
				t.Fatal(err)
			}
			if _, err := k2.Wrap(Unclassified, dk, b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeyringWrongMasterKey(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	pass := testPassphrase(t, "correct horse")
	keyFile := testKeyFile(t, "key file")
	byPass, err := k.Seal(pass)
	if err != nil {
		t.Fatal(err)
	}
	byFile, err := k.Seal(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		m    *MasterKey
	}{
		{"wrong passphrase", byPass, testPassphrase(t, "correct horsf")},
		{"wrong key file", byFile, testKeyFile(t, "another key file")},
		{"key file for a passphrase keyring", byPass, keyFile},
		{"passphrase for a key-file keyring", byFile, pass},
		// An attacker who rewrites the parameters and fixes the
		// checksum gets the same answer as a wrong passphrase.
		{"altered argon2 time", fixSum(func() []byte {
			d := bytes.Clone(byPass)
			d[krTime+3]++
			return d
		}()), pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenKeyring(tc.data, tc.m, testRand("r"))
			if !errors.Is(err, ErrWrongMasterKey) || errors.Is(err, ErrCorruptKeyring) {
				t.Fatalf("got %v, want ErrWrongMasterKey", err)
			}
		})
	}
}

func TestKeyringCorrupt(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	m := testPassphrase(t, "correct horse")
	data, err := k.Seal(m)
	if err != nil {
		t.Fatal(err)
	}
	envelope, _ := k.Wrap(Secret, testDataKey(t, "dk"), Binding{})
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated header", data[:40]},
		{"truncated body", data[:len(data)-krSumLen-1]},
		{"truncated checksum", data[:len(data)-1]},
		{"one byte short of minimal", data[:krMinLen-1]},
		{"appended byte", cat(data, []byte{0})},
		{"random bytes", testBytes("garbage", len(data))},
		{"an envelope", envelope},
		{"bit flip in magic", flip(1)(data)},
		{"bit flip in salt", flip(krSalt + 3)(data)},
		{"bit flip in body", flip(krHeaderLen + 10)(data)},
		{"bit flip in checksum", flip(-1)(data)},
		{"altered body, checksum fixed", fixSum(flip(krHeaderLen + 10)(data))},
		{"altered tag, checksum fixed", fixSum(flip(-krSumLen - 1)(data))},
		{"newer format version, checksum fixed", fixSum(func() []byte {
			d := bytes.Clone(data)
			d[5] = 2
			return d
		}())},
		{"unknown master kind, checksum fixed", fixSum(func() []byte {
			d := bytes.Clone(data)
			d[krKind] = 7
			return d
		}())},
		// Huge parameters are refused before Argon2id runs: a file
		// must not make Khomat allocate 2 TiB.
		{"huge argon2 memory, checksum fixed", fixSum(func() []byte {
			d := bytes.Clone(data)
			binary.BigEndian.PutUint32(d[krMemory:], 1<<31)
			return d
		}())},
		{"zero argon2 threads, checksum fixed", fixSum(func() []byte {
			d := bytes.Clone(data)
			d[krThreads] = 0
			return d
		}())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenKeyring(tc.data, m, testRand("r"))
			if !errors.Is(err, ErrCorruptKeyring) || errors.Is(err, ErrWrongMasterKey) {
				t.Fatalf("got %v, want ErrCorruptKeyring", err)
			}
		})
	}
	t.Run("every bit flipped", func(t *testing.T) {
		for i := range len(data) * 8 {
			d := bytes.Clone(data)
			d[i/8] ^= 1 << (i % 8)
			if _, err := OpenKeyring(d, m, testRand("r")); !errors.Is(err, ErrCorruptKeyring) {
				t.Fatalf("bit %d: got %v, want ErrCorruptKeyring", i, err)
			}
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := ReadKeyringFile(filepath.Join(t.TempDir(), "none"), m, testRand("r"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("got %v, want os.ErrNotExist", err)
		}
	})
}

func TestChangeMasterKey(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	b := testBinding("doc", 1)
	dk := testDataKey(t, "dk")
	env, _ := k.Wrap(Confidential, dk, b)
	path := filepath.Join(t.TempDir(), "keyring")
	oldPass := testPassphrase(t, "old passphrase")
	newPass := testPassphrase(t, "new passphrase")
	keyFile := testKeyFile(t, "key file")
	if err := k.WriteFile(path, oldPass); err != nil {
		t.Fatal(err)
	}
	if err := ChangeMasterKey(path, oldPass, newPass, testRand("r")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyringFile(path, oldPass, testRand("r")); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("old passphrase: %v", err)
	}
	k2, err := ReadKeyringFile(path, newPass, testRand("r"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeyring(t, k, k2)
	if got, err := k2.Unwrap(env, Confidential, b); err != nil || got.key != dk.key {
		t.Fatalf("envelope after changing the passphrase: %v", err)
	}
	// From a passphrase to a key file, and a wrong old key changes nothing.
	if err := ChangeMasterKey(path, oldPass, keyFile, testRand("r")); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("change with the wrong old passphrase: %v", err)
	}
	if err := ChangeMasterKey(path, newPass, keyFile, testRand("r")); err != nil {
		t.Fatal(err)
	}
	k3, err := ReadKeyringFile(path, keyFile, testRand("r"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeyring(t, k, k3)
}

// TestDefaultArgon2Params seals and opens with the production parameters.
func TestDefaultArgon2Params(t *testing.T) {
	t.Parallel()
	p := DefaultArgon2Params()
	if p.Time < 3 || p.MemoryKiB < 64<<10 || p.Threads < 2 {
		t.Fatalf("defaults %+v are weaker than t=3, m=64 MiB, p=2", p)
	}
	m, err := MasterKeyFromPassphrase([]byte("mật khẩu"), p)
	if err != nil {
		t.Fatal(err)
	}
	k := testKeyring(t, "keyring")
	data, err := k.Seal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := (Argon2Params{binary.BigEndian.Uint32(data[krTime:]), binary.BigEndian.Uint32(data[krMemory:]), data[krThreads]}); got != p {
		t.Fatalf("file records %+v, want %+v", got, p)
	}
	k2, err := OpenKeyring(data, m, testRand("r"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeyring(t, k, k2)
}

func TestMasterKeys(t *testing.T) {
	t.Parallel()
	if _, err := MasterKeyFromPassphrase(nil, cheapArgon2); err == nil {
		t.Error("empty passphrase accepted")
	}
	for _, p := range []Argon2Params{{0, 256, 1}, {1, 7, 1}, {1, 15, 2}, {1, 256, 0}, {101, 256, 1}, {1, 4<<20 + 1, 1}} {
		if _, err := MasterKeyFromPassphrase([]byte("x"), p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := GenerateKeyFile(path, testRand("k")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	before, _ := os.ReadFile(path)
	if err := GenerateKeyFile(path, testRand("other")); !errors.Is(err, os.ErrExist) {
		t.Fatalf("GenerateKeyFile over an existing key: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("an existing key file was overwritten")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the key file", len(entries))
	}
	for name, content := range map[string][]byte{"short": make([]byte, 31), "long": make([]byte, 33), "empty": nil} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o600)
		if _, err := MasterKeyFromFile(p); err == nil {
			t.Errorf("%s key file accepted", name)
		}
	}
	m := testPassphrase(t, "x")
	m.Destroy()
	if _, err := testKeyring(t, "k").Seal(m); err == nil {
		t.Error("sealed with a destroyed master key")
	}
}
