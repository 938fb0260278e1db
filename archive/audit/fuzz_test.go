package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// seedSegments are the committed seeds of FuzzParseSegment: a valid
// segment and the usual ways one ends badly.
func seedSegments() map[string][]byte {
	b := appendHeader(nil, 41)
	en := vectorEntry()
	for i := range 3 {
		en.Seq = 41 + uint64(i)
		enc, _ := en.MarshalBinary()
		b = appendFrame(b, enc)
	}
	return map[string][]byte{
		"valid":       b,
		"torn":        b[:len(b)-9],
		"header-only": b[:segHeaderLen],
		"garbage":     append(bytes.Clone(b), "\x00\x00\x00\x10garbage"...),
		"empty":       nil,
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseSegment")
	os.MkdirAll(dir, 0o755)
	for name, b := range seedSegments() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseSegment feeds arbitrary bytes to the segment parser, as Open and
// Verify do with whatever a disk or a bucket holds: it must never panic,
// never read past its input, and accept only canonical encodings.
func FuzzParseSegment(f *testing.F) {
	for _, b := range seedSegments() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := parseHeader(data); err != nil && len(data) >= segHeaderLen && !errors.Is(err, errHeader) {
			t.Fatalf("header error %v", err)
		}
		off := min(segHeaderLen, len(data))
		for off < len(data) {
			payload, n, err := parseFrame(data[off:])
			if err != nil && !errors.Is(err, errChecksum) {
				break
			}
			if n <= 0 || off+n > len(data) {
				t.Fatalf("frame length %d at %d of %d", n, off, len(data))
			}
			var en Entry
			if err := en.UnmarshalBinary(payload); err == nil {
				again, err := en.MarshalBinary()
				if err != nil || !bytes.Equal(again, payload) {
					t.Fatalf("decoded %+v does not re-encode to its bytes: %v", en, err)
				}
			}
			off += n
		}
	})
}
