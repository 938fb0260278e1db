package crypto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// testRand returns a deterministic random source named by seed, so that
// every test is reproducible.
func testRand(seed string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte(seed)))
}

// testBytes returns n deterministic pseudo-random bytes named by seed.
func testBytes(seed string, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(testRand(seed), b)
	return b
}

func testDataKey(t testing.TB, seed string) *DataKey {
	t.Helper()
	dk, err := NewDataKey(testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func testBinding(seed string, version uint32) Binding {
	var b Binding
	copy(b.DocID[:], testBytes(seed, 16))
	b.Version = version
	return b
}

var testTime = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// encrypt returns plaintext encrypted in one write.
func encrypt(t testing.TB, dk *DataKey, b Binding, suite Suite, seed string, plaintext []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewEncryptWriter(&buf, dk, b, suite, testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decrypt decrypts ciphertext whole, returning what was released before
// any error.
func decrypt(dk *DataKey, b Binding, ciphertext []byte) ([]byte, error) {
	r, err := NewDecryptReader(bytes.NewReader(ciphertext), dk, b)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, r)
	return out.Bytes(), err
}

func wantIntegrity(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("got error %v, want ErrIntegrity", err)
	}
}

// countingReaderAt counts the ReadAt calls a RangeReader makes, as an HTTP
// adapter would count range requests.
type countingReaderAt struct {
	r     io.ReaderAt
	calls int
	bytes int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	n, err := c.r.ReadAt(p, off)
	c.bytes += int64(n)
	return n, err
}
