package crypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"khomat/crypto/internal/stream"
)

// BenchmarkStream compares the streaming writer and reader with a bare AEAD
// seal/open loop over the same data in 64 KiB chunks, in the same run, so
// the ratio is meaningful on a noisy machine. docs/BENCHMARKS.md records
// the figures.
func BenchmarkStream(b *testing.B) {
	for _, size := range []int{1 << 20, 256 << 20} {
		sizeName := fmt.Sprintf("%dMiB", size>>20)
		plaintext := testBytes("bench plaintext", size)
		dk := testDataKey(b, "bench key")
		bind := testBinding("bench doc", 1)
		for _, suite := range suites {
			ct := encrypt(b, dk, bind, suite, "bench salt", plaintext)
			aead, err := suite.newAEAD(dk.key[:])
			if err != nil {
				b.Fatal(err)
			}
			bare := bareSeal(aead, plaintext, nil)
			name := func(op string) string { return op + "/" + suite.String() + "/" + sizeName }

			b.Run(name("bare-seal"), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				out := make([]byte, 0, stream.EncChunkSize)
				for b.Loop() {
					bareSeal(aead, plaintext, out)
				}
			})
			b.Run(name("encrypt"), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				rand := testRand("salt")
				for b.Loop() {
					w, err := NewEncryptWriter(io.Discard, dk, bind, suite, rand)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(plaintext); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name("bare-open"), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				out := make([]byte, 0, stream.ChunkSize)
				for b.Loop() {
					if err := bareOpen(aead, bare, out); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name("decrypt"), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				src := bytes.NewReader(ct)
				for b.Loop() {
					src.Reset(ct)
					r, err := NewDecryptReader(src, dk, bind)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			if suite == AES256GCM && size > 1<<20 {
				// A 1 MiB range from the middle, as an HTTP range
				// request would fetch it.
				b.Run(name("range-1MiB"), func(b *testing.B) {
					b.SetBytes(1 << 20)
					b.ReportAllocs()
					for b.Loop() {
						rr, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, bind)
						if err != nil {
							b.Fatal(err)
						}
						s, err := rr.Section(int64(size/2)+12345, 1<<20)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := io.Copy(io.Discard, s); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// bareSeal seals plaintext in 64 KiB chunks with a counter nonce and no
// associated data, into one reused chunk buffer unless out is nil, in which
// case it returns the whole ciphertext.
func bareSeal(aead cipher.AEAD, plaintext, out []byte) []byte {
	var all []byte
	if out == nil {
		// Seal grows dst only by what it needs: size it once.
		all = make([]byte, 0, len(plaintext)+(len(plaintext)/stream.ChunkSize+1)*stream.TagSize)
	}
	nonce := make([]byte, aead.NonceSize())
	for i := 0; i < len(plaintext); i += stream.ChunkSize {
		binary.BigEndian.PutUint64(nonce, uint64(i))
		chunk := plaintext[i:min(i+stream.ChunkSize, len(plaintext))]
		if out == nil {
			all = aead.Seal(all, nonce, chunk, nil)
		} else {
			aead.Seal(out[:0], nonce, chunk, nil)
		}
	}
	return all
}

func bareOpen(aead cipher.AEAD, ciphertext, out []byte) error {
	nonce := make([]byte, aead.NonceSize())
	for i := 0; i < len(ciphertext); i += stream.EncChunkSize {
		binary.BigEndian.PutUint64(nonce, uint64(i/stream.EncChunkSize*stream.ChunkSize))
		if _, err := aead.Open(out[:0], nonce, ciphertext[i:min(i+stream.EncChunkSize, len(ciphertext))], nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkKeyringUnlock opens a keyring file sealed with the default
// Argon2id parameters: the cost of starting the server or of one guess at
// the passphrase.
func BenchmarkKeyringUnlock(b *testing.B) {
	m, err := MasterKeyFromPassphrase([]byte("correct horse battery staple"), DefaultArgon2Params())
	if err != nil {
		b.Fatal(err)
	}
	k := testKeyring(b, "bench keyring")
	data, err := k.Seal(m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("argon2id-default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := OpenKeyring(data, m, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEnvelope wraps and unwraps a data key.
func BenchmarkEnvelope(b *testing.B) {
	k := testKeyring(b, "bench keyring")
	dk := testDataKey(b, "dk")
	bind := testBinding("doc", 1)
	env, _ := k.Wrap(Secret, dk, bind)
	b.Run("wrap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.Wrap(Secret, dk, bind)
		}
	})
	b.Run("unwrap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.Unwrap(env, Secret, bind)
		}
	})
}
