package crypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func testKeyring(t testing.TB, seed string) *Keyring {
	t.Helper()
	k, err := NewKeyring(testRand(seed), testTime)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 7)
	for l := range Level(NumLevels) {
		env, err := k.Wrap(l, dk, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(env) != EnvelopeSize {
			t.Fatalf("envelope is %d bytes", len(env))
		}
		info, err := ParseEnvelope(env)
		if err != nil || info != (EnvelopeInfo{Level: l, KEKVersion: 1, Binding: b}) {
			t.Fatalf("ParseEnvelope = %+v, %v", info, err)
		}
		got, err := k.Unwrap(env, l, b)
		if err != nil {
			t.Fatal(err)
		}
		if got.key != dk.key {
			t.Fatal("unwrapped another key")
		}
	}
}

// setVersion rewrites the KEK version an envelope declares.
func setVersion(env []byte, v uint32) []byte {
	env = bytes.Clone(env)
	binary.BigEndian.PutUint32(env[envKEKVersion:], v)
	return env
}

func TestEnvelopeMisuse(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	// Every level has versions 1 and 2, so a relabelled envelope finds a
	// KEK of the version it declares.
	for l := range Level(NumLevels) {
		if _, err := k.Rotate(l, testTime); err != nil {
			t.Fatal(err)
		}
	}
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 7)
	env, err := k.Wrap(Secret, dk, b)
	if err != nil {
		t.Fatal(err)
	}
	relabel := func(level Level) []byte {
		e := bytes.Clone(env)
		e[envLevel] = byte(level)
		return e
	}
	rebind := func(b Binding) []byte {
		e := bytes.Clone(env)
		b.appendTo(e[envBinding:envBinding])
		return e
	}
	other := testKeyring(t, "another keyring")
	for _, tc := range []struct {
		name  string
		k     *Keyring
		env   []byte
		level Level
		b     Binding
		want  error
	}{
		{"wrong document id", k, env, Secret, testBinding("other doc", 7), ErrIntegrity},
		{"wrong version", k, env, Secret, testBinding("doc", 8), ErrIntegrity},
		{"wrong level", k, env, Confidential, b, ErrIntegrity},
		{"relabelled level", k, relabel(Confidential), Confidential, b, ErrIntegrity},
		{"relabelled level above", k, relabel(TopSecret), TopSecret, b, ErrIntegrity},
		{"copied onto another document", k, rebind(testBinding("other doc", 7)), Secret, testBinding("other doc", 7), ErrIntegrity},
		{"copied onto another version", k, rebind(testBinding("doc", 8)), Secret, testBinding("doc", 8), ErrIntegrity},
		{"wrong KEK version", k, setVersion(env, 1), Secret, b, ErrIntegrity},
		{"unknown KEK version", k, setVersion(env, 3), Secret, b, ErrKeyNotFound},
		{"KEK version 0", k, setVersion(env, 0), Secret, b, ErrIntegrity},
		{"another keyring", other, env, Secret, b, ErrKeyNotFound},
		{"bit flip in salt", k, flip(envSalt + 1)(env), Secret, b, ErrIntegrity},
		{"bit flip in wrapped key", k, flip(envHeaderSize + 1)(env), Secret, b, ErrIntegrity},
		{"bit flip in tag", k, flip(-1)(env), Secret, b, ErrIntegrity},
		{"bit flip in magic", k, flip(0)(env), Secret, b, ErrIntegrity},
		{"bit flip in format version", k, flip(5)(env), Secret, b, ErrIntegrity},
		{"truncated", k, env[:len(env)-1], Secret, b, ErrIntegrity},
		{"appended", k, cat(env, []byte{0}), Secret, b, ErrIntegrity},
		{"empty", k, nil, Secret, b, ErrIntegrity},
		{"invalid level", k, relabel(9), 9, b, ErrIntegrity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dk, err := tc.k.Unwrap(tc.env, tc.level, tc.b)
			if !errors.Is(err, tc.want) || dk != nil {
				t.Fatalf("Unwrap = %v, %v; want %v", dk, err, tc.want)
			}
		})
	}
	// An envelope under another keyring's KEK of the same version.
	if _, err := other.Rotate(Secret, testTime); err != nil {
		t.Fatal(err)
	}
	_, err = other.Unwrap(env, Secret, b)
	wantIntegrity(t, err)
}

func TestRotateRetireRewrap(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	b := testBinding("doc", 1)
	dk := testDataKey(t, "dk")
	env1, err := k.Wrap(Confidential, dk, b)
	if err != nil {
		t.Fatal(err)
	}
	later := testTime.Add(24 * time.Hour)
	v, err := k.Rotate(Confidential, later)
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v", v, err)
	}
	if a, _ := k.Active(Confidential); a != 2 {
		t.Fatalf("Active = %d", a)
	}
	if a, _ := k.Active(Secret); a != 1 {
		t.Fatalf("rotating one level moved another: Active(Secret) = %d", a)
	}
	env2, err := k.Wrap(Confidential, dk, b)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := ParseEnvelope(env2); info.KEKVersion != 2 {
		t.Fatalf("new envelope under version %d", info.KEKVersion)
	}
	// The old version still unwraps.
	if got, err := k.Unwrap(env1, Confidential, b); err != nil || got.key != dk.key {
		t.Fatalf("old envelope: %v", err)
	}

	// Rewrap to the new version, then to another level.
	re, err := Rewrap(k, env1, Confidential, b, Confidential)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := ParseEnvelope(re); info.KEKVersion != 2 || info.Level != Confidential {
		t.Fatalf("rewrapped envelope: %+v", info)
	}
	up, err := Rewrap(k, re, Confidential, b, TopSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Unwrap(up, TopSecret, b); err != nil || got.key != dk.key {
		t.Fatalf("reclassified envelope: %v", err)
	}
	if _, err := k.Unwrap(up, Confidential, b); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("reclassified envelope opens at its old level: %v", err)
	}
	if _, err := Rewrap(k, env1, Secret, b, TopSecret); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("Rewrap from the wrong level: %v", err)
	}

	// Retire: the active version cannot be, an old one can, and then
	// unwraps nothing.
	if err := k.Retire(Confidential, 2, later); !errors.Is(err, ErrActiveKey) {
		t.Fatalf("retiring the active version: %v", err)
	}
	if err := k.Retire(Confidential, 3, later); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("retiring an unknown version: %v", err)
	}
	if err := k.Retire(9, 1, later); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("retiring an unknown level: %v", err)
	}
	retiredAt := later.Add(time.Hour)
	if err := k.Retire(Confidential, 1, retiredAt); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire(Confidential, 1, retiredAt.Add(time.Hour)); err != nil {
		t.Fatalf("retiring twice: %v", err)
	}
	if _, err := k.Unwrap(env1, Confidential, b); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("retired version unwrapped: %v", err)
	}
	if _, err := Rewrap(k, env1, Confidential, b, Confidential); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("retired version rewrapped: %v", err)
	}
	if got, err := k.Unwrap(re, Confidential, b); err != nil || got.key != dk.key {
		t.Fatalf("rewrapped envelope after retirement: %v", err)
	}
	versions, err := k.Versions(Confidential)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyVersion{
		{Level: Confidential, Version: 1, Created: testTime, Retired: retiredAt},
		{Level: Confidential, Version: 2, Created: later, Active: true},
	}
	if len(versions) != 2 || versions[0] != want[0] || versions[1] != want[1] {
		t.Fatalf("Versions = %+v, want %+v", versions, want)
	}
	if k.levels[Confidential][0].key != [KeySize]byte{} {
		t.Fatal("retired key material was not destroyed")
	}
	// Rotating again and retiring the middle version works too.
	if _, err := k.Rotate(Confidential, later); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire(Confidential, 2, later); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Unwrap(re, Confidential, b); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("retired version 2 unwrapped: %v", err)
	}
}

func TestKeyringLevelsAreSeparate(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	seen := map[[KeySize]byte]bool{}
	for l := range k.levels {
		key := k.levels[l][0].key
		if seen[key] {
			t.Fatal("two levels share a KEK")
		}
		seen[key] = true
	}
	for _, bad := range []Level{4, 255} {
		if _, err := k.Rotate(bad, testTime); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Rotate(%d): %v", bad, err)
		}
		if _, err := k.Wrap(bad, testDataKey(t, "dk"), Binding{}); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Wrap(%d): %v", bad, err)
		}
		if _, err := k.Versions(bad); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Versions(%d): %v", bad, err)
		}
		if _, err := k.Active(bad); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Active(%d): %v", bad, err)
		}
	}
}

func TestKeyringConcurrent(t *testing.T) {
	t.Parallel()
	k := testKeyring(t, "keyring")
	b := testBinding("doc", 1)
	dk := testDataKey(t, "dk")
	done := make(chan error)
	for range 4 {
		go func() {
			for range 200 {
				env, err := k.Wrap(Secret, dk, b)
				if err != nil {
					done <- err
					return
				}
				if _, err := k.Unwrap(env, Secret, b); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	go func() {
		for range 20 {
			k.Rotate(Secret, testTime)
		}
	}()
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestLevelString(t *testing.T) {
	t.Parallel()
	want := []string{"unclassified", "confidential", "secret", "top_secret", "Level(4)"}
	for i, w := range want {
		if got := Level(i).String(); got != w {
			t.Errorf("Level(%d) = %q, want %q", i, got, w)
		}
	}
}

func TestNilAndZeroValues(t *testing.T) {
	t.Parallel()
	if _, err := NewKeyring(nil, testTime); err == nil {
		t.Error("NewKeyring without a random source")
	}
	if _, err := NewDataKey(nil); err == nil {
		t.Error("NewDataKey without a random source")
	}
	var zero Keyring
	if _, err := zero.Seal(testPassphrase(t, "x")); err == nil {
		t.Error("sealed an empty keyring")
	}
	if _, err := zero.Wrap(Secret, testDataKey(t, "dk"), Binding{}); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Wrap on an empty keyring: %v", err)
	}
	k := testKeyring(t, "k")
	if _, err := k.Seal(nil); err == nil {
		t.Error("sealed without a master key")
	}
	if _, err := OpenKeyring(nil, nil, nil); err == nil {
		t.Error("opened without a master key")
	}
	opened := &Keyring{levels: k.levels} // as OpenKeyring(data, m, nil) returns it
	if _, err := opened.Wrap(Secret, testDataKey(t, "dk"), Binding{}); err == nil {
		t.Error("wrapped without a random source")
	}
}
