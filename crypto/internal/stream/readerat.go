package stream

import (
	"errors"
	"fmt"
	"io"
)

// BatchChunks is how many sealed chunks ReaderAt fetches from its source in
// one ReadAt call (about 1 MiB): few enough to bound memory, many enough
// that a source doing one HTTP range request per ReadAt is not called per
// chunk.
const BatchChunks = 16

// ReaderAt decrypts any range of a stream stored in an io.ReaderAt, reading
// only the chunks that cover the range. It authenticates the final chunk
// when it is opened, so Size is the authentic plaintext size: a truncated or
// extended stream fails to open. Each chunk is authenticated before any of
// its plaintext is returned. It is safe for concurrent use.
type ReaderAt struct {
	c         *Cipher
	src       io.ReaderAt
	base      int64 // offset of the first sealed chunk in src
	size      int64 // plaintext size
	lastIndex uint64
	lastPT    []byte // plaintext of the final chunk, kept to serve the tail
}

// NewReaderAt opens the sealed body stored in src from offset base, of
// sealedSize bytes. If the caller has already read the final sealed chunk
// it passes it as final, which saves a read; otherwise final is nil.
func NewReaderAt(src io.ReaderAt, base, sealedSize int64, c *Cipher, final []byte) (*ReaderAt, error) {
	chunks, lastSize, err := layout(sealedSize)
	if err != nil {
		return nil, err
	}
	r := &ReaderAt{c: c, src: src, base: base, lastIndex: uint64(chunks - 1)}
	r.size = (chunks-1)*ChunkSize + lastSize - TagSize
	if final == nil {
		final = make([]byte, lastSize)
		if err := r.readSealed(final, r.lastIndex); err != nil {
			return nil, err
		}
	} else if int64(len(final)) != lastSize {
		return nil, fmt.Errorf("stream: final chunk is %d bytes, want %d", len(final), lastSize)
	}
	var n Nonce
	r.lastPT, err = c.Open(nil, &n, r.lastIndex, true, final)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Size is the plaintext size.
func (r *ReaderAt) Size() int64 { return r.size }

// ReadAt reads len(p) bytes of plaintext from offset off, as io.ReaderAt
// specifies: fewer only at the end of the stream (with io.EOF) or on error.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("stream: negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	var eof error
	if want > r.size-off {
		want, eof = r.size-off, io.EOF
	}
	s := r.section(off, want)
	n, err := io.ReadFull(s, p[:want])
	if err != nil {
		return n, err
	}
	return n, eof
}

// Section returns a reader of the n bytes of plaintext from off. It fetches
// BatchChunks chunks at a time into a buffer of its own, so memory stays
// bounded whatever n is. off and n must lie within Size.
func (r *ReaderAt) Section(off, n int64) (*Section, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return nil, fmt.Errorf("stream: range of %d bytes at %d is outside a plaintext of %d bytes", n, off, r.size)
	}
	return r.section(off, n), nil
}

func (r *ReaderAt) section(off, n int64) *Section {
	return &Section{r: r, next: uint64(off / ChunkSize), skip: int(off % ChunkSize), left: n}
}

// readSealed reads the sealed chunks from index on into p, which holds
// whole sealed chunks (the final one possibly short).
func (r *ReaderAt) readSealed(p []byte, index uint64) error {
	off := r.base + int64(index)*EncChunkSize
	n, err := r.src.ReadAt(p, off)
	switch {
	case n == len(p):
		return nil
	case err == nil, errors.Is(err, io.EOF):
		return fmt.Errorf("%w: stream shorter than its stated size", ErrIntegrity)
	default:
		return fmt.Errorf("stream: reading chunks from %d: %w", index, err)
	}
}

// Section reads one range of a ReaderAt's plaintext. It is not safe for
// concurrent use.
type Section struct {
	r     *ReaderAt
	next  uint64 // index of the next chunk to decrypt
	skip  int    // plaintext bytes to drop from the next chunk
	left  int64  // plaintext bytes still to return
	pt    []byte // authenticated plaintext ready to return
	buf   []byte // batch of sealed chunks
	batch [][]byte
	nonce Nonce
	err   error
}

// Read returns authenticated plaintext of the section.
func (s *Section) Read(p []byte) (int, error) {
	if len(s.pt) == 0 {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.pt)
	s.pt = s.pt[n:]
	return n, nil
}

// WriteTo writes the section's plaintext to w without an intermediate copy;
// io.Copy uses it.
func (s *Section) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(s.pt) == 0 {
			if err := s.fill(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(s.pt)
		total += int64(n)
		s.pt = s.pt[n:]
		if err != nil {
			return total, err
		}
		if len(s.pt) > 0 {
			return total, io.ErrShortWrite
		}
	}
}

// fill authenticates the next chunk of the section into s.pt, fetching a
// batch of sealed chunks when the previous batch is used up.
func (s *Section) fill() error {
	if s.err != nil {
		return s.err
	}
	if s.left == 0 {
		s.err = io.EOF
		s.buf, s.batch = nil, nil
		return s.err
	}
	var pt []byte
	if s.next == s.r.lastIndex {
		pt = s.r.lastPT
	} else {
		if len(s.batch) == 0 {
			if err := s.fetch(); err != nil {
				s.err = err
				return err
			}
		}
		sealed := s.batch[0]
		s.batch = s.batch[1:]
		var err error
		pt, err = s.r.c.Open(sealed[:0], &s.nonce, s.next, false, sealed)
		if err != nil {
			s.err = err
			return err
		}
	}
	s.next++
	if s.skip > len(pt) {
		s.err = fmt.Errorf("stream: offset past the end of chunk %d", s.next-1)
		return s.err
	}
	pt = pt[s.skip:]
	s.skip = 0
	if int64(len(pt)) > s.left {
		pt = pt[:s.left]
	}
	s.left -= int64(len(pt))
	s.pt = pt
	return nil
}

// fetch reads the sealed chunks from s.next up to the end of the section or
// BatchChunks of them, stopping before the final chunk, which ReaderAt
// already holds decrypted.
func (s *Section) fetch() error {
	end := s.next + uint64((int64(s.skip)+s.left+ChunkSize-1)/ChunkSize)
	end = min(end, s.next+BatchChunks, s.r.lastIndex)
	count := int(end - s.next)
	if count <= 0 {
		return fmt.Errorf("stream: nothing to fetch at chunk %d", s.next)
	}
	if cap(s.buf) < count*EncChunkSize {
		s.buf = make([]byte, count*EncChunkSize)
	}
	buf := s.buf[:count*EncChunkSize]
	if err := s.r.readSealed(buf, s.next); err != nil {
		return err
	}
	s.batch = s.batch[:0]
	for i := range count {
		s.batch = append(s.batch, buf[i*EncChunkSize:(i+1)*EncChunkSize])
	}
	return nil
}
