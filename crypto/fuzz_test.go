package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets feed untrusted bytes to every parser in the package.
// Their seed corpora live in testdata/fuzz/<target>/ and are rewritten by
// `go test -run TestFuzzSeedCorpora -update`; scripts/fuzz.sh runs each
// target for a while in CI.

func fuzzKey(t testing.TB) (*DataKey, Binding) {
	return testDataKey(t, "fuzz data key"), testBinding("fuzz doc", 5)
}

// FuzzDecrypt decrypts arbitrary bytes as content, streaming and by range.
// Both readers must agree, fail only with ErrIntegrity, and never panic.
func FuzzDecrypt(f *testing.F) {
	dk, b := fuzzKey(f)
	f.Fuzz(func(t *testing.T, data []byte, off, n uint32) {
		plain, err := decrypt(dk, b, data)
		if err != nil && !errors.Is(err, ErrIntegrity) {
			t.Fatalf("decrypt: %v is not ErrIntegrity", err)
		}
		size, sizeErr := PlaintextSize(int64(len(data)))
		if err == nil && (sizeErr != nil || size != int64(len(plain))) {
			t.Fatalf("decrypted %d bytes, PlaintextSize = %d, %v", len(plain), size, sizeErr)
		}
		rr, rerr := OpenRange(bytes.NewReader(data), int64(len(data)), dk, b)
		if rerr != nil {
			if !errors.Is(rerr, ErrIntegrity) {
				t.Fatalf("OpenRange: %v is not ErrIntegrity", rerr)
			}
			if err == nil {
				t.Fatalf("a stream that decrypts fails OpenRange: %v", rerr)
			}
			return
		}
		if rr.Size() != size {
			t.Fatalf("Size = %d, PlaintextSize = %d", rr.Size(), size)
		}
		start := int64(off) % (rr.Size() + 1)
		length := min(int64(n), rr.Size()-start)
		s, serr := rr.Section(start, length)
		if serr != nil {
			t.Fatal(serr)
		}
		got, serr := io.ReadAll(s)
		if serr != nil && !errors.Is(serr, ErrIntegrity) {
			t.Fatalf("Section: %v is not ErrIntegrity", serr)
		}
		if err == nil && (serr != nil || !bytes.Equal(got, plain[start:start+length])) {
			t.Fatalf("Section(%d, %d) disagrees with the streaming reader: %v", start, length, serr)
		}
	})
}

func fuzzKeyring(t testing.TB) *Keyring {
	k := testKeyring(t, "fuzz keyring")
	k.Rotate(Secret, testTime)
	k.Rotate(Secret, testTime)
	if err := k.Retire(Secret, 1, testTime); err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzEnvelope parses and unwraps arbitrary bytes as an envelope.
func FuzzEnvelope(f *testing.F) {
	k := fuzzKeyring(f)
	dk, b := fuzzKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		info, perr := ParseEnvelope(data)
		if perr != nil && !errors.Is(perr, ErrIntegrity) {
			t.Fatalf("ParseEnvelope: %v is not ErrIntegrity", perr)
		}
		level := Secret
		if perr == nil {
			level = info.Level
		}
		got, err := k.Unwrap(data, level, b)
		if err != nil {
			if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrKeyNotFound) && !errors.Is(err, ErrKeyRetired) {
				t.Fatalf("Unwrap: unexpected error %v", err)
			}
			return
		}
		if perr != nil || info.Binding != b || got.key != dk.key {
			t.Fatalf("Unwrap accepted a forged envelope: %+v", info)
		}
	})
}

// FuzzKeyringFile opens arbitrary bytes as a keyring file, as they are and
// with the checksum fixed up so the fuzzer reaches past it.
func FuzzKeyringFile(f *testing.F) {
	m := &MasterKey{kind: masterKeyFile, secret: testBytes("fuzz master key", KeySize)}
	f.Fuzz(func(t *testing.T, data []byte) {
		candidates := [][]byte{data}
		if len(data) >= krSumLen {
			candidates = append(candidates, fixSum(data))
		}
		for _, d := range candidates {
			k, err := OpenKeyring(d, m, testRand("r"))
			if err != nil {
				if !errors.Is(err, ErrCorruptKeyring) && !errors.Is(err, ErrWrongMasterKey) {
					t.Fatalf("OpenKeyring: unexpected error %v", err)
				}
				continue
			}
			again, err := k.Seal(m)
			if err != nil {
				t.Fatal(err)
			}
			k2, err := OpenKeyring(again, m, testRand("r"))
			if err != nil {
				t.Fatal(err)
			}
			sameKeyring(t, k, k2)
		}
	})
}

// FuzzKeyringBody decodes arbitrary bytes as a keyring body, the part of
// a keyring file a fuzzer cannot reach through the seal. Only canonical
// encodings are accepted.
func FuzzKeyringBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		levels, err := unmarshalKeyring(data)
		if err != nil {
			return
		}
		k := &Keyring{levels: levels}
		if !bytes.Equal(k.marshal(), data) {
			t.Fatal("decoding is not canonical: re-encoding gives other bytes")
		}
	})
}

// FuzzOpenMetadata opens arbitrary bytes as sealed metadata.
func FuzzOpenMetadata(f *testing.F) {
	dk, _ := fuzzKey(f)
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		if _, err := OpenMetadata(dk, ad, sealed); err != nil && !errors.Is(err, ErrIntegrity) {
			t.Fatalf("OpenMetadata: %v is not ErrIntegrity", err)
		}
	})
}

// fuzzSeeds returns each target's seed corpus: valid inputs, so the
// fuzzer starts deep inside the parsers, and a few broken ones.
func fuzzSeeds(t *testing.T) map[string]map[string][]any {
	dk, b := fuzzKey(t)
	seeds := map[string]map[string][]any{}
	add := func(target, name string, args ...any) {
		if seeds[target] == nil {
			seeds[target] = map[string][]any{}
		}
		seeds[target][name] = args
	}

	for _, size := range []int{0, 1, 100, ChunkSize, ChunkSize + 1} {
		ct := encrypt(t, dk, b, AES256GCM, "fuzz salt", testBytes("fuzz plaintext", size))
		add("FuzzDecrypt", fmt.Sprintf("aes-%d", size), ct, uint32(size/3), uint32(size/2+1))
	}
	ct := encrypt(t, dk, b, XChaCha20Poly1305, "fuzz salt", testBytes("fuzz plaintext", 300))
	add("FuzzDecrypt", "xchacha-300", ct, uint32(7), uint32(200))
	add("FuzzDecrypt", "truncated", ct[:len(ct)-1], uint32(0), uint32(10))
	add("FuzzDecrypt", "header-only", ct[:ContentHeaderSize], uint32(0), uint32(0))
	add("FuzzDecrypt", "empty", []byte{}, uint32(0), uint32(0))

	k := fuzzKeyring(t)
	for l := range Level(NumLevels) {
		env, err := k.Wrap(l, dk, b)
		if err != nil {
			t.Fatal(err)
		}
		add("FuzzEnvelope", "level-"+l.String(), env)
	}
	retired, _ := sealEnvelope(testBytes("retired", KeySize), Secret, 1, b, dk, testRand("salt"))
	add("FuzzEnvelope", "retired-version", retired)
	add("FuzzEnvelope", "empty", []byte{})

	keyFile := &MasterKey{kind: masterKeyFile, secret: testBytes("fuzz master key", KeySize)}
	k.rand = testRand("fuzz seal")
	sealed, err := k.Seal(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzKeyringFile", "key-file", sealed)
	small := testKeyring(t, "small")
	small.rand = testRand("fuzz seal")
	sealed, err = small.Seal(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzKeyringFile", "key-file-small", sealed)
	sealed, err = small.Seal(testPassphrase(t, "passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzKeyringFile", "passphrase", sealed)
	add("FuzzKeyringFile", "empty", []byte{})

	add("FuzzKeyringBody", "rotated-retired", k.marshal())
	add("FuzzKeyringBody", "fresh", small.marshal())
	add("FuzzKeyringBody", "empty", []byte{})

	for _, suite := range suites {
		meta, err := SealMetadata(dk, suite, []byte("ad"), []byte(`{"title":"x"}`), testRand("salt"))
		if err != nil {
			t.Fatal(err)
		}
		add("FuzzOpenMetadata", suite.String(), meta, []byte("ad"))
	}
	add("FuzzOpenMetadata", "empty", []byte{}, []byte{})
	return seeds
}

// TestFuzzSeedCorpora keeps the committed seed corpora in step with the
// formats: each seed must be in testdata, byte for byte.
func TestFuzzSeedCorpora(t *testing.T) {
	for target, corpus := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, args := range corpus {
			var buf bytes.Buffer
			buf.WriteString("go test fuzz v1\n")
			for _, a := range args {
				switch a := a.(type) {
				case []byte:
					fmt.Fprintf(&buf, "[]byte(%q)\n", a)
				case uint32:
					fmt.Fprintf(&buf, "uint32(%d)\n", a)
				default:
					t.Fatalf("seed argument of type %T", a)
				}
			}
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("seed missing (run with -update): %v", err)
			}
			if !bytes.Equal(got, buf.Bytes()) {
				t.Fatalf("seed %s is out of date (run with -update)", path)
			}
		}
	}
}
