package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"khomat/crypto/internal/stream"
)

func TestRangeReader(t *testing.T) {
	t.Parallel()
	for _, suite := range suites {
		for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 7, 40 * ChunkSize} {
			t.Run(fmt.Sprintf("%s/size=%d", suite, size), func(t *testing.T) {
				t.Parallel()
				dk := testDataKey(t, "dk")
				b := testBinding("doc", 2)
				plaintext := testBytes("range", size)
				ct := encrypt(t, dk, b, suite, "salt", plaintext)
				rr, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, b)
				if err != nil {
					t.Fatal(err)
				}
				if rr.Size() != int64(size) {
					t.Fatalf("Size = %d, want %d", rr.Size(), size)
				}
				// Ranges at, before and after chunk boundaries, up
				// to the end, empty ranges, and the whole stream.
				points := []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 100, size / 2, size - ChunkSize, size - 1, size}
				for _, off := range points {
					for _, end := range points {
						if off < 0 || end > size || off > end {
							continue
						}
						want := plaintext[off:end]
						s, err := rr.Section(int64(off), int64(end-off))
						if err != nil {
							t.Fatal(err)
						}
						var got bytes.Buffer
						if _, err := io.Copy(&got, s); err != nil {
							t.Fatalf("Section(%d, %d): %v", off, end-off, err)
						}
						if !bytes.Equal(got.Bytes(), want) {
							t.Fatalf("Section(%d, %d) differs", off, end-off)
						}
						s, _ = rr.Section(int64(off), int64(end-off))
						if got, err := io.ReadAll(s); err != nil || !bytes.Equal(got, want) {
							t.Fatalf("Section(%d, %d) through Read: %v", off, end-off, err)
						}
						p := make([]byte, end-off)
						n, err := rr.ReadAt(p, int64(off))
						if n != len(p) || (err != nil && !(err == io.EOF && end == size)) {
							t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", len(p), off, n, err)
						}
						if !bytes.Equal(p, want) {
							t.Fatalf("ReadAt(%d bytes, %d) differs", len(p), off)
						}
					}
				}
			})
		}
	}
}

func TestRangeReaderEdges(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 2)
	plaintext := testBytes("edges", 3*ChunkSize+5)
	ct := encrypt(t, dk, b, AES256GCM, "salt", plaintext)
	rr, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, b)
	if err != nil {
		t.Fatal(err)
	}
	size := rr.Size()
	// io.ReaderAt: a read past the end returns what there is and io.EOF.
	p := make([]byte, 10)
	if n, err := rr.ReadAt(p, size-4); n != 4 || err != io.EOF || !bytes.Equal(p[:4], plaintext[size-4:]) {
		t.Errorf("ReadAt across the end = %d, %v", n, err)
	}
	if n, err := rr.ReadAt(p, size); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v", n, err)
	}
	if _, err := rr.ReadAt(p, -1); err == nil {
		t.Error("ReadAt at -1 succeeded")
	}
	if n, err := rr.ReadAt(nil, 0); n != 0 || err != nil {
		t.Errorf("empty ReadAt = %d, %v", n, err)
	}
	for _, bad := range [][2]int64{{-1, 1}, {0, -1}, {size + 1, 0}, {0, size + 1}, {size - 1, 2}} {
		if _, err := rr.Section(bad[0], bad[1]); err == nil {
			t.Errorf("Section(%d, %d) succeeded", bad[0], bad[1])
		}
	}
	// The size given must be the object's: a wrong one fails to open.
	for _, wrong := range []int64{int64(len(ct)) - 1, int64(len(ct)) + 1, int64(len(ct)) - stream.EncChunkSize} {
		_, err := OpenRange(bytes.NewReader(ct), wrong, dk, b)
		wantIntegrity(t, err)
	}
	// A larger stated size than the object holds is a truncated object.
	_, err = OpenRange(bytes.NewReader(ct[:len(ct)-100]), int64(len(ct)), dk, b)
	wantIntegrity(t, err)
}

// TestRangeReaderBatches checks that a range is fetched in few, bounded
// ReadAt calls: an HTTP adapter makes one request per call.
func TestRangeReaderBatches(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 2)
	plaintext := testBytes("batches", 10<<20+123)
	ct := encrypt(t, dk, b, AES256GCM, "salt", plaintext)
	src := &countingReaderAt{r: bytes.NewReader(ct)}
	rr, err := OpenRange(src, int64(len(ct)), dk, b)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 2 {
		t.Errorf("OpenRange made %d reads, want 2 (header and final chunk)", src.calls)
	}
	for _, tc := range []struct {
		off, n          int64
		calls, maxBytes int64
	}{
		{100, 5 << 20, 6, 81 * stream.EncChunkSize}, // chunks 0..80: ceil(81/16) batches
		{ChunkSize, 1, 1, stream.EncChunkSize},
		{rr.Size() - 10, 10, 0, 0}, // the final chunk is already held
		{rr.Size() - ChunkSize - 10, ChunkSize, 1, stream.EncChunkSize},
	} {
		src.calls, src.bytes = 0, 0
		s, err := rr.Section(tc.off, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := io.Copy(&got, s); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), plaintext[tc.off:tc.off+tc.n]) {
			t.Fatalf("Section(%d, %d) differs", tc.off, tc.n)
		}
		if int64(src.calls) != tc.calls || src.bytes > tc.maxBytes {
			t.Errorf("Section(%d, %d): %d reads of %d bytes, want %d reads of at most %d", tc.off, tc.n, src.calls, src.bytes, tc.calls, tc.maxBytes)
		}
	}

	// A single-chunk object opens with one read.
	small := encrypt(t, dk, b, AES256GCM, "salt", []byte("một trang"))
	src = &countingReaderAt{r: bytes.NewReader(small)}
	if _, err := OpenRange(src, int64(len(small)), dk, b); err != nil || src.calls != 1 {
		t.Errorf("single chunk: %d reads, %v", src.calls, err)
	}
}

func TestRangeReaderConcurrent(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 2)
	plaintext := testBytes("concurrent", 20*ChunkSize+99)
	ct := encrypt(t, dk, b, AES256GCM, "salt", plaintext)
	rr, err := OpenRange(bytes.NewReader(ct), int64(len(ct)), dk, b)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				off := int64((g*7919 + i*104729) % len(plaintext))
				p := make([]byte, min(int64(3*ChunkSize), rr.Size()-off))
				if _, err := rr.ReadAt(p, off); err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(p, plaintext[off:off+int64(len(p))]) {
					errs <- fmt.Errorf("ReadAt(%d) differs", off)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }

func TestRangeReaderSourceError(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	b := testBinding("doc", 2)
	boom := errors.New("503 slow down")
	_, err := OpenRange(errReaderAt{boom}, ContentHeaderSize+3*stream.EncChunkSize, dk, b)
	if !errors.Is(err, boom) || errors.Is(err, ErrIntegrity) {
		t.Errorf("got %v, want the source's error", err)
	}
}
