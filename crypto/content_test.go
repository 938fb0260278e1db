package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"khomat/crypto/internal/stream"
)

var suites = []Suite{AES256GCM, XChaCha20Poly1305}

// roundTripSizes sit on and around the chunk boundaries.
var roundTripSizes = []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2*ChunkSize - 1, 2 * ChunkSize, 2*ChunkSize + 1, 10 << 20}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	// Write sizes: all at once, one byte at a time, odd sizes that
	// straddle chunk boundaries, and exactly one chunk.
	writeSizes := []int{0, 1, 7, 4093, ChunkSize, ChunkSize + 3}
	for _, suite := range suites {
		for _, size := range roundTripSizes {
			plaintext := testBytes(fmt.Sprint("plaintext", size), size)
			for _, ws := range writeSizes {
				t.Run(fmt.Sprintf("%s/size=%d/write=%d", suite, size, ws), func(t *testing.T) {
					t.Parallel()
					dk := testDataKey(t, "dk")
					b := testBinding("doc", 3)
					var buf bytes.Buffer
					w, err := NewEncryptWriter(&buf, dk, b, suite, testRand("salt"))
					if err != nil {
						t.Fatal(err)
					}
					rest := plaintext
					for len(rest) > 0 {
						n := ws
						if n == 0 || n > len(rest) {
							n = len(rest)
						}
						if m, err := w.Write(rest[:n]); err != nil || m != n {
							t.Fatalf("Write = %d, %v", m, err)
						}
						rest = rest[n:]
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					ct := buf.Bytes()
					want, err := CiphertextSize(int64(size))
					if err != nil || int64(len(ct)) != want {
						t.Fatalf("ciphertext is %d bytes, CiphertextSize = %d, %v", len(ct), want, err)
					}
					if n, err := PlaintextSize(int64(len(ct))); err != nil || n != int64(size) {
						t.Fatalf("PlaintextSize = %d, %v", n, err)
					}
					// Every write pattern gives the same bytes.
					if !bytes.Equal(ct, encrypt(t, dk, b, suite, "salt", plaintext)) {
						t.Fatal("ciphertext depends on the write pattern")
					}
					got, err := decrypt(dk, b, ct)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, plaintext) {
						t.Fatal("plaintext differs")
					}
				})
			}
		}
	}
}

// TestReadPatterns decrypts through readers that return short reads, data
// with EOF, and one byte at a time, and reads into odd buffer sizes.
func TestReadPatterns(t *testing.T) {
	t.Parallel()
	sources := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data-eof": iotest.DataErrReader,
	}
	readSizes := []int{1, 13, ChunkSize - 1, ChunkSize, ChunkSize + 17}
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 5} {
		plaintext := testBytes("read patterns", size)
		dk := testDataKey(t, "dk")
		b := testBinding("doc", 1)
		ct := encrypt(t, dk, b, AES256GCM, "salt", plaintext)
		for name, wrap := range sources {
			for _, rs := range readSizes {
				t.Run(fmt.Sprintf("size=%d/%s/read=%d", size, name, rs), func(t *testing.T) {
					t.Parallel()
					r, err := NewDecryptReader(wrap(bytes.NewReader(ct)), dk, b)
					if err != nil {
						t.Fatal(err)
					}
					var got []byte
					p := make([]byte, rs)
					for {
						n, err := r.Read(p)
						got = append(got, p[:n]...)
						if err == io.EOF {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
					}
					if !bytes.Equal(got, plaintext) {
						t.Fatal("plaintext differs")
					}
				})
			}
		}
	}
	t.Run("iotest.TestReader", func(t *testing.T) {
		plaintext := testBytes("iotest", 2*ChunkSize+100)
		dk := testDataKey(t, "dk")
		b := testBinding("doc", 1)
		r, err := NewDecryptReader(bytes.NewReader(encrypt(t, dk, b, AES256GCM, "salt", plaintext)), dk, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := iotest.TestReader(r, plaintext); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ plain, ct int64 }{
		{0, ContentHeaderSize + 16},
		{1, ContentHeaderSize + 17},
		{ChunkSize, ContentHeaderSize + ChunkSize + 16},
		{ChunkSize + 1, ContentHeaderSize + ChunkSize + 1 + 32},
		{256 << 20, ContentHeaderSize + 256<<20 + 4096*16},
		{stream.MaxChunks * ChunkSize, ContentHeaderSize + stream.MaxChunks*stream.EncChunkSize},
	} {
		if got, err := CiphertextSize(tc.plain); err != nil || got != tc.ct {
			t.Errorf("CiphertextSize(%d) = %d, %v; want %d", tc.plain, got, err, tc.ct)
		}
		if got, err := PlaintextSize(tc.ct); err != nil || got != tc.plain {
			t.Errorf("PlaintextSize(%d) = %d, %v; want %d", tc.ct, got, err, tc.plain)
		}
	}
	for _, bad := range []int64{-1, stream.MaxChunks*ChunkSize + 1} {
		if _, err := CiphertextSize(bad); err == nil {
			t.Errorf("CiphertextSize(%d) succeeded", bad)
		}
	}
	// Sizes no stream can have: shorter than header and tag, a last chunk
	// shorter than a tag, an empty last chunk after a full one.
	for _, bad := range []int64{-1, 0, ContentHeaderSize, ContentHeaderSize + 15,
		ContentHeaderSize + stream.EncChunkSize + 15, ContentHeaderSize + stream.EncChunkSize + 16,
		ContentHeaderSize + stream.MaxChunks*stream.EncChunkSize + 17} {
		_, err := PlaintextSize(bad)
		wantIntegrity(t, err)
	}
}

// tamperCase alters a stream of three chunks (the third short) written by
// the reference key and binding.
type tamperCase struct {
	name  string
	alter func(ct []byte) []byte
	dk    string  // data key seed, if not the reference one
	b     Binding // binding to decrypt with, if not the reference one
}

const (
	tamperSize = 2*ChunkSize + 1000
	enc        = stream.EncChunkSize
	hdr        = ContentHeaderSize
)

func chunk(ct []byte, i int) []byte {
	return ct[hdr+i*enc : min(hdr+(i+1)*enc, len(ct))]
}

func flip(pos int) func([]byte) []byte {
	return func(ct []byte) []byte {
		ct = bytes.Clone(ct)
		if pos < 0 {
			pos += len(ct)
		}
		ct[pos] ^= 0x01
		return ct
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func tamperCases(t *testing.T) []tamperCase {
	ref := testBinding("doc", 3)
	// Streams of the same key under another binding, and another stream
	// of the same key and binding (another salt): their chunks must not
	// fit into the reference stream.
	dk := testDataKey(t, "dk")
	pt := testBytes("tamper", tamperSize)
	otherDoc := encrypt(t, dk, testBinding("other doc", 3), AES256GCM, "salt", pt)
	otherVer := encrypt(t, dk, testBinding("doc", 4), AES256GCM, "salt", pt)
	otherSalt := encrypt(t, dk, ref, AES256GCM, "another salt", pt)
	return []tamperCase{
		{name: "bit flip in magic", alter: flip(0)},
		{name: "bit flip in kind", alter: flip(4)},
		{name: "bit flip in version", alter: flip(5)},
		{name: "bit flip in suite", alter: flip(6)},
		{name: "suite changed to XChaCha20-Poly1305", alter: func(ct []byte) []byte {
			ct = bytes.Clone(ct)
			ct[6] = byte(XChaCha20Poly1305)
			return ct
		}},
		{name: "bit flip in salt", alter: flip(20)},
		{name: "bit flip in first chunk", alter: flip(hdr + 100)},
		{name: "bit flip in first tag", alter: flip(hdr + enc - 1)},
		{name: "bit flip in middle chunk", alter: flip(hdr + enc + 5000)},
		{name: "bit flip in last chunk", alter: flip(-20)},
		{name: "bit flip in last tag", alter: flip(-1)},
		{name: "empty", alter: func([]byte) []byte { return nil }},
		{name: "truncated in header", alter: func(ct []byte) []byte { return ct[:hdr-1] }},
		{name: "truncated to header", alter: func(ct []byte) []byte { return ct[:hdr] }},
		{name: "truncated in first chunk", alter: func(ct []byte) []byte { return ct[:hdr+1000] }},
		{name: "truncated at chunk boundary", alter: func(ct []byte) []byte { return ct[:hdr+2*enc] }},
		{name: "truncated at first chunk boundary", alter: func(ct []byte) []byte { return ct[:hdr+enc] }},
		{name: "truncated in last tag", alter: func(ct []byte) []byte { return ct[:len(ct)-1] }},
		{name: "truncated to a tag after a chunk boundary", alter: func(ct []byte) []byte { return ct[:hdr+2*enc+16] }},
		{name: "appended byte", alter: func(ct []byte) []byte { return cat(ct, []byte{0}) }},
		{name: "appended chunk", alter: func(ct []byte) []byte { return cat(ct, chunk(ct, 1)) }},
		{name: "appended empty final chunk", alter: func(ct []byte) []byte {
			return cat(ct[:hdr+2*enc], chunk(ct, 2)[:16])
		}},
		{name: "reordered chunks", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 1), chunk(ct, 0), chunk(ct, 2))
		}},
		{name: "duplicated chunk", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(ct, 0), chunk(ct, 2))
		}},
		{name: "dropped middle chunk", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(ct, 2))
		}},
		{name: "last chunk as middle", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(ct, 2), chunk(ct, 1))
		}},
		{name: "chunk from another document", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(otherDoc, 1), chunk(ct, 2))
		}},
		{name: "chunk from another version", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(otherVer, 1), chunk(ct, 2))
		}},
		{name: "chunk from another stream of the same version", alter: func(ct []byte) []byte {
			return cat(ct[:hdr], chunk(ct, 0), chunk(otherSalt, 1), chunk(ct, 2))
		}},
		{name: "header from another stream", alter: func(ct []byte) []byte {
			return cat(otherSalt[:hdr], ct[hdr:])
		}},
		{name: "whole stream of another document", alter: func([]byte) []byte { return otherDoc }},
		{name: "wrong document id", b: testBinding("other doc", 3)},
		{name: "wrong version", b: testBinding("doc", 4)},
		{name: "wrong key", dk: "another key"},
	}
}

// TestTamper checks that every alteration of a stream fails with
// ErrIntegrity, through the streaming reader and through the range reader,
// and that the streaming reader never releases plaintext it has not
// authenticated.
func TestTamper(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	ref := testBinding("doc", 3)
	plaintext := testBytes("tamper", tamperSize)
	ct := encrypt(t, dk, ref, AES256GCM, "salt", plaintext)
	if got, err := decrypt(dk, ref, ct); err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("reference stream does not decrypt: %v", err)
	}
	for _, tc := range tamperCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			altered, key, b := ct, dk, ref
			if tc.alter != nil {
				altered = tc.alter(ct)
			}
			if tc.dk != "" {
				key = testDataKey(t, tc.dk)
			}
			if tc.b != (Binding{}) {
				b = tc.b
			}
			got, err := decrypt(key, b, altered)
			wantIntegrity(t, err)
			if !bytes.HasPrefix(plaintext, got) || len(got)%ChunkSize != 0 {
				t.Fatalf("released %d bytes that are not whole authentic chunks", len(got))
			}
			// The range reader must refuse the stream, or fail on
			// every range that covers the damage.
			rr, err := OpenRange(bytes.NewReader(altered), int64(len(altered)), key, b)
			if err != nil {
				wantIntegrity(t, err)
				return
			}
			if rr.Size() != int64(len(plaintext)) {
				t.Fatalf("range reader opened with size %d", rr.Size())
			}
			all := make([]byte, rr.Size())
			_, err = rr.ReadAt(all, 0)
			wantIntegrity(t, err)
		})
	}
}

func TestBitFlipEverywhereSmall(t *testing.T) {
	t.Parallel()
	// A one-chunk stream is short enough to flip every bit of.
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 1)
	ct := encrypt(t, dk, b, XChaCha20Poly1305, "salt", []byte("Tuyệt mật"))
	for i := range len(ct) * 8 {
		altered := bytes.Clone(ct)
		altered[i/8] ^= 1 << (i % 8)
		got, err := decrypt(dk, b, altered)
		if !errors.Is(err, ErrIntegrity) || len(got) != 0 {
			t.Fatalf("bit %d: got %q, %v", i, got, err)
		}
	}
}

func TestSourceErrorsAreNotIntegrity(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 1)
	ct := encrypt(t, dk, b, AES256GCM, "salt", testBytes("p", 3*ChunkSize))
	boom := errors.New("connection reset")
	for _, at := range []int{0, 10, hdr + 5, hdr + enc + 1} {
		src := io.MultiReader(bytes.NewReader(ct[:at]), iotest.ErrReader(boom))
		_, err := decrypt2(src, dk, b)
		if !errors.Is(err, boom) || errors.Is(err, ErrIntegrity) {
			t.Errorf("error at %d: got %v, want the source's error", at, err)
		}
	}
}

func decrypt2(src io.Reader, dk *DataKey, b Binding) ([]byte, error) {
	r, err := NewDecryptReader(src, dk, b)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestWriterErrors(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 1)
	if _, err := NewEncryptWriter(io.Discard, dk, b, 0, testRand("s")); err == nil {
		t.Error("suite 0 accepted")
	}
	if _, err := NewEncryptWriter(io.Discard, dk, b, AES256GCM, iotest.ErrReader(io.ErrUnexpectedEOF)); err == nil {
		t.Error("failing rand accepted")
	}
	w, err := NewEncryptWriter(io.Discard, dk, b, AES256GCM, testRand("s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	// A failing destination fails the writer for good.
	boom := errors.New("disk full")
	w, _ = NewEncryptWriter(failWriter{boom}, dk, b, AES256GCM, testRand("s"))
	if _, err := w.Write(make([]byte, 3*ChunkSize)); !errors.Is(err, boom) {
		t.Errorf("Write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestDestroyedDataKey(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 1)
	ct := encrypt(t, dk, b, AES256GCM, "salt", []byte("x"))
	w, err := NewEncryptWriter(io.Discard, dk, b, AES256GCM, testRand("s"))
	if err != nil {
		t.Fatal(err)
	}
	dk.Destroy()
	if dk.key != [KeySize]byte{} {
		t.Fatal("Destroy left key bytes")
	}
	// A writer made before Destroy keeps working on its derived key.
	if _, err := w.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing can be made from a destroyed key: it must never act as an
	// all-zero key.
	if _, err := NewEncryptWriter(io.Discard, dk, b, AES256GCM, testRand("s")); err == nil {
		t.Error("NewEncryptWriter accepted a destroyed key")
	}
	if _, err := NewDecryptReader(bytes.NewReader(ct), dk, b); err == nil {
		t.Error("NewDecryptReader accepted a destroyed key")
	}
	if _, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, b); err == nil {
		t.Error("OpenRange accepted a destroyed key")
	}
	if _, err := SealMetadata(dk, AES256GCM, nil, nil, testRand("s")); err == nil {
		t.Error("SealMetadata accepted a destroyed key")
	}
	if _, err := dk.Bytes(); err == nil {
		t.Error("Bytes of a destroyed key")
	}
	if _, err := NewEncryptWriter(io.Discard, &DataKey{}, b, AES256GCM, testRand("s")); err == nil {
		t.Error("a zero DataKey was used as an all-zero key")
	}
	var nilKey *DataKey
	nilKey.Destroy()
	if _, err := NewEncryptWriter(io.Discard, nilKey, b, AES256GCM, testRand("s")); err == nil {
		t.Error("nil key accepted")
	}
}

func TestDataKeyBytes(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	raw, err := dk.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	dk2, err := DataKeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if dk2.key != dk.key {
		t.Fatal("DataKeyFromBytes(Bytes()) differs")
	}
	if _, err := DataKeyFromBytes(raw[:31]); err == nil {
		t.Fatal("31-byte key accepted")
	}
}

func TestParseSuite(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		if got, err := ParseSuite(s.String()); err != nil || got != s {
			t.Errorf("ParseSuite(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseSuite("AES-128-GCM"); err == nil {
		t.Error("unknown suite parsed")
	}
}
