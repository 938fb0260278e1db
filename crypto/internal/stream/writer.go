package stream

import (
	"errors"
	"fmt"
	"io"
)

// Writer encrypts a stream. It buffers at most one chunk, and writes the
// header given to NewWriter together with the first sealed chunk, so that a
// stream is never visible with a header and no chunk.
type Writer struct {
	c     *Cipher
	dst   io.Writer
	buf   []byte // plaintext not yet sealed, at most ChunkSize bytes
	out   []byte // header (until the first chunk) and one sealed chunk
	head  int    // bytes of header still at the front of out
	index uint64
	nonce Nonce
	err   error // sticky; errClosed after Close
}

var errClosed = errors.New("stream: write after close")

// NewWriter returns a Writer that writes header and then the sealed stream
// to dst. Close must be called to seal the final chunk; it does not close
// dst.
func NewWriter(dst io.Writer, c *Cipher, header []byte) *Writer {
	out := make([]byte, len(header), len(header)+EncChunkSize)
	copy(out, header)
	return &Writer{
		c:    c,
		dst:  dst,
		buf:  make([]byte, 0, ChunkSize),
		out:  out,
		head: len(header),
	}
}

// Write encrypts p. A full chunk is only sealed once more data arrives,
// because until then it may be the last one.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		if len(w.buf) == ChunkSize {
			if err := w.flush(w.buf, false); err != nil {
				return written, err
			}
			w.buf = w.buf[:0]
		}
		if len(w.buf) == 0 && len(p) > ChunkSize {
			// Seal straight from p: more data follows in p, so this
			// chunk is not the last, and skipping the copy into buf
			// keeps large writes as fast as a bare AEAD loop.
			if err := w.flush(p[:ChunkSize], false); err != nil {
				return written, err
			}
			p = p[ChunkSize:]
			written += ChunkSize
			continue
		}
		n := copy(w.buf[len(w.buf):ChunkSize], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

// Close seals and writes the final chunk. It is an error to write after
// Close; closing twice returns the first Close's result.
func (w *Writer) Close() error {
	if w.err == errClosed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	err := w.flush(w.buf, true)
	clear(w.buf[:cap(w.buf)])
	if err != nil {
		return err
	}
	w.err = errClosed
	return nil
}

func (w *Writer) flush(plaintext []byte, last bool) error {
	sealed, err := w.c.Seal(w.out[:w.head], &w.nonce, w.index, last, plaintext)
	if err != nil {
		w.err = err
		return err
	}
	if _, err := w.dst.Write(sealed); err != nil {
		w.err = fmt.Errorf("stream: writing chunk %d: %w", w.index, err)
		return w.err
	}
	w.head = 0
	w.index++
	return nil
}
