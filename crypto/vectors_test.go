package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Run `go test ./crypto -run 'TestVectors|TestFuzzSeeds' -update` to
// rewrite testdata after a deliberate format change (and a new format
// version, docs/FORMAT.md). Without -update the tests fail on any change.
var update = flag.Bool("update", false, "rewrite the test vectors and fuzz seed corpora in testdata")

const vectorsFile = "testdata/vectors.json"

// vectors is the layout of testdata/vectors.json. Byte strings are hex.
// Every random byte a writer draws is recorded (the salts), so another
// implementation can reproduce every file exactly.
type vectors struct {
	Comment  []string         `json:"comment"`
	Content  []contentVector  `json:"content"`
	Metadata []metadataVector `json:"metadata"`
	Envelope []envelopeVector `json:"envelope"`
	Keyring  []keyringVector  `json:"keyring"`
}

type contentVector struct {
	Name          string `json:"name"`
	Suite         Suite  `json:"suite"`
	DataKey       string `json:"data_key"`
	DocID         string `json:"doc_id"`
	Version       uint32 `json:"version"`
	Salt          string `json:"salt"`
	PlaintextSize int    `json:"plaintext_size"`
	File          string `json:"file"`
	SHA256        string `json:"sha256"`
}

type metadataVector struct {
	Name      string `json:"name"`
	Suite     Suite  `json:"suite"`
	DataKey   string `json:"data_key"`
	AD        string `json:"ad"`
	Plaintext string `json:"plaintext"`
	Salt      string `json:"salt"`
	Sealed    string `json:"sealed"`
}

type envelopeVector struct {
	Name       string `json:"name"`
	KEK        string `json:"kek"`
	Level      Level  `json:"level"`
	KEKVersion uint32 `json:"kek_version"`
	DocID      string `json:"doc_id"`
	Version    uint32 `json:"version"`
	DataKey    string `json:"data_key"`
	Salt       string `json:"salt"`
	Envelope   string `json:"envelope"`
}

type keyringVector struct {
	Name       string        `json:"name"`
	Master     string        `json:"master"` // "passphrase" or "key file"
	Passphrase string        `json:"passphrase,omitempty"`
	Key        string        `json:"key,omitempty"`
	Argon2     *Argon2Params `json:"argon2,omitempty"`
	Salt       string        `json:"salt"`
	Body       string        `json:"body"` // the keyring body sealed in the file
	File       string        `json:"file"`
}

// vectorPlaintext is the content plaintext of the vectors: byte i is i mod 251.
func vectorPlaintext(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vectorBinding(t testing.TB, docID string, version uint32) Binding {
	b := Binding{Version: version}
	copy(b.DocID[:], unhex(t, docID))
	return b
}

func vectorDataKey(t testing.TB, s string) *DataKey {
	dk, err := DataKeyFromBytes(unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

// vectorKeyring is the keyring of the keyring vectors: every level, some
// rotated, one version retired, at fixed times.
func vectorKeyring(t testing.TB) *Keyring {
	k, err := NewKeyring(testRand("vector keyring"), time.Unix(1790000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	k.Rotate(Secret, time.Unix(1800000000, 0))
	k.Rotate(TopSecret, time.Unix(1800000000, 0))
	k.Rotate(TopSecret, time.Unix(1810000000, 0))
	if err := k.Retire(TopSecret, 1, time.Unix(1820000000, 0)); err != nil {
		t.Fatal(err)
	}
	return k
}

// generateVectors builds every vector from fixed seeds, writing content
// files under dir.
func generateVectors(t testing.TB, dir string) vectors {
	v := vectors{Comment: []string{
		"Khomat crypto test vectors; the formats are in docs/FORMAT.md.",
		"Content plaintext byte i is i mod 251. Each salt is the only randomness its writer draws.",
		"Content ciphertexts are in the files named, relative to this file.",
		"Keys here are test keys: never use them for anything else.",
	}}
	hexs := hex.EncodeToString
	for _, c := range []struct {
		suite Suite
		size  int
	}{{AES256GCM, 0}, {AES256GCM, 1}, {AES256GCM, ChunkSize}, {AES256GCM, ChunkSize + 1}, {XChaCha20Poly1305, 100}, {XChaCha20Poly1305, ChunkSize + 1}} {
		name := fmt.Sprintf("content-%s-%d", map[Suite]string{AES256GCM: "aes256gcm", XChaCha20Poly1305: "xchacha20poly1305"}[c.suite], c.size)
		dk := testDataKey(t, name+" key")
		b := testBinding(name+" doc", uint32(c.size%7+1))
		salt := testBytes(name+" salt", saltSize)
		ct := encryptWithSalt(t, dk, b, c.suite, salt, vectorPlaintext(c.size))
		file := name + ".bin"
		if err := os.WriteFile(filepath.Join(dir, file), ct, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(ct)
		v.Content = append(v.Content, contentVector{
			Name: name, Suite: c.suite, DataKey: hexs(dk.key[:]), DocID: hexs(b.DocID[:]), Version: b.Version,
			Salt: hexs(salt), PlaintextSize: c.size, File: file, SHA256: hexs(sum[:]),
		})
	}
	for _, suite := range suites {
		name := "metadata-" + suite.String()
		dk := testDataKey(t, name+" key")
		ad := []byte("doc id, version 3, revision 1")
		pt := []byte(`{"title":"Quyết định số 01","level":"Mật"}`)
		salt := testBytes(name+" salt", saltSize)
		sealed, err := SealMetadata(dk, suite, ad, pt, bytes.NewReader(salt))
		if err != nil {
			t.Fatal(err)
		}
		v.Metadata = append(v.Metadata, metadataVector{
			Name: name, Suite: suite, DataKey: hexs(dk.key[:]), AD: hexs(ad), Plaintext: hexs(pt), Salt: hexs(salt), Sealed: hexs(sealed),
		})
	}
	for _, e := range []struct {
		level   Level
		version uint32
	}{{Confidential, 1}, {TopSecret, 3}} {
		name := fmt.Sprintf("envelope-%s-v%d", e.level, e.version)
		kek := testBytes(name+" kek", KeySize)
		dk := testDataKey(t, name+" data key")
		b := testBinding(name+" doc", 9)
		salt := testBytes(name+" salt", saltSize)
		env, err := sealEnvelope(kek, e.level, e.version, b, dk, bytes.NewReader(salt))
		if err != nil {
			t.Fatal(err)
		}
		v.Envelope = append(v.Envelope, envelopeVector{
			Name: name, KEK: hexs(kek), Level: e.level, KEKVersion: e.version, DocID: hexs(b.DocID[:]), Version: b.Version,
			DataKey: hexs(dk.key[:]), Salt: hexs(salt), Envelope: hexs(env),
		})
	}
	k := vectorKeyring(t)
	body := k.marshal()
	for _, master := range []string{"passphrase", "key file"} {
		name := "keyring-" + map[string]string{"passphrase": "passphrase", "key file": "keyfile"}[master]
		kv := keyringVector{Name: name, Master: master, Salt: hexs(testBytes(name+" salt", saltSize)), Body: hexs(body), File: name + ".bin"}
		if master == "passphrase" {
			p := Argon2Params{Time: 2, MemoryKiB: 1024, Threads: 1}
			kv.Passphrase, kv.Argon2 = "Tuyệt mật — chỉ người có tên mới được bóc bì", &p
		} else {
			kv.Key = hexs(testBytes(name+" key", KeySize))
		}
		k.rand = bytes.NewReader(unhex(t, kv.Salt))
		data, err := k.Seal(keyringVectorMaster(t, kv))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, kv.File), data, 0o644); err != nil {
			t.Fatal(err)
		}
		v.Keyring = append(v.Keyring, kv)
	}
	return v
}

func encryptWithSalt(t testing.TB, dk *DataKey, b Binding, suite Suite, salt, plaintext []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewEncryptWriter(&buf, dk, b, suite, bytes.NewReader(salt))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plaintext)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func keyringVectorMaster(t testing.TB, kv keyringVector) *MasterKey {
	if kv.Master == "passphrase" {
		m, err := MasterKeyFromPassphrase([]byte(kv.Passphrase), *kv.Argon2)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return &MasterKey{kind: masterKeyFile, secret: unhex(t, kv.Key)}
}

// TestVectors checks the committed vectors in both directions: each
// decrypts (or opens) to the recorded plaintext, and writing the recorded
// plaintext with the recorded keys and salts gives the committed bytes.
func TestVectors(t *testing.T) {
	if *update {
		v := generateVectors(t, "testdata")
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Content) == 0 || len(v.Metadata) == 0 || len(v.Envelope) == 0 || len(v.Keyring) == 0 {
		t.Fatal("vectors missing")
	}
	for _, c := range v.Content {
		t.Run(c.Name, func(t *testing.T) {
			ct, err := os.ReadFile(filepath.Join("testdata", c.File))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(ct); hex.EncodeToString(sum[:]) != c.SHA256 {
				t.Fatal("file does not match its recorded SHA-256")
			}
			dk, b, want := vectorDataKey(t, c.DataKey), vectorBinding(t, c.DocID, c.Version), vectorPlaintext(c.PlaintextSize)
			got, err := decrypt(dk, b, ct)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("decrypting the vector: %v", err)
			}
			rr, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, b)
			if err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(io.NewSectionReader(rr, 0, rr.Size()))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("range-reading the vector: %v", err)
			}
			if again := encryptWithSalt(t, dk, b, c.Suite, unhex(t, c.Salt), want); !bytes.Equal(again, ct) {
				t.Fatal("encrypting the vector's plaintext gives other bytes: the format changed")
			}
		})
	}
	for _, m := range v.Metadata {
		t.Run(m.Name, func(t *testing.T) {
			dk, ad, sealed := vectorDataKey(t, m.DataKey), unhex(t, m.AD), unhex(t, m.Sealed)
			got, err := OpenMetadata(dk, ad, sealed)
			if err != nil || !bytes.Equal(got, unhex(t, m.Plaintext)) {
				t.Fatalf("opening the vector: %v", err)
			}
			again, err := SealMetadata(dk, m.Suite, ad, unhex(t, m.Plaintext), bytes.NewReader(unhex(t, m.Salt)))
			if err != nil || !bytes.Equal(again, sealed) {
				t.Fatalf("sealing the vector's plaintext gives other bytes (%v): the format changed", err)
			}
		})
	}
	for _, e := range v.Envelope {
		t.Run(e.Name, func(t *testing.T) {
			kekBytes, env, b := unhex(t, e.KEK), unhex(t, e.Envelope), vectorBinding(t, e.DocID, e.Version)
			info, err := ParseEnvelope(env)
			if err != nil || info != (EnvelopeInfo{Level: e.Level, KEKVersion: e.KEKVersion, Binding: b}) {
				t.Fatalf("ParseEnvelope = %+v, %v", info, err)
			}
			dk, err := openEnvelope(kekBytes, env)
			if err != nil || hex.EncodeToString(dk.key[:]) != e.DataKey {
				t.Fatalf("opening the vector: %v", err)
			}
			// Through a keyring holding the KEK at that version.
			k := &Keyring{}
			k.levels[e.Level] = make([]kek, e.KEKVersion)
			for i := range k.levels[e.Level] {
				k.levels[e.Level][i].key[0] = 1
			}
			copy(k.levels[e.Level][e.KEKVersion-1].key[:], kekBytes)
			if dk, err := k.Unwrap(env, e.Level, b); err != nil || hex.EncodeToString(dk.key[:]) != e.DataKey {
				t.Fatalf("Keyring.Unwrap of the vector: %v", err)
			}
			again, err := sealEnvelope(kekBytes, e.Level, e.KEKVersion, b, dk, bytes.NewReader(unhex(t, e.Salt)))
			if err != nil || !bytes.Equal(again, env) {
				t.Fatalf("wrapping the vector's key gives other bytes (%v): the format changed", err)
			}
		})
	}
	for _, kv := range v.Keyring {
		t.Run(kv.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", kv.File))
			if err != nil {
				t.Fatal(err)
			}
			m := keyringVectorMaster(t, kv)
			k, err := OpenKeyring(data, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(k.marshal()) != kv.Body {
				t.Fatal("the opened keyring differs from the vector's body")
			}
			k.rand = bytes.NewReader(unhex(t, kv.Salt))
			again, err := k.Seal(m)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("sealing the vector's keyring gives other bytes (%v): the format changed", err)
			}
			// The body vector is also what the generator builds.
			if hex.EncodeToString(vectorKeyring(t).marshal()) != kv.Body {
				t.Fatal("the vector keyring's body changed")
			}
		})
	}
}
