package stream

import (
	"errors"
	"fmt"
	"io"
)

// Reader decrypts a stream whose header the caller has already consumed.
// It releases the plaintext of a chunk only after that chunk has been
// authenticated, and reports io.EOF only after the final chunk has been
// authenticated and nothing follows it. A truncated stream therefore yields
// some authentic plaintext and then an error: callers must not treat the
// data as complete before they see io.EOF.
type Reader struct {
	c *Cipher
	// src is read one sealed chunk plus one byte at a time: the extra
	// byte tells whether the chunk just read is the last one.
	src   io.Reader
	buf   []byte // sealed chunk, decrypted in place; buf[EncChunkSize] is the look-ahead byte
	have  int    // bytes at the front of buf already read (the look-ahead byte)
	pt    []byte // authenticated plaintext not yet returned
	index uint64
	nonce Nonce
	err   error // sticky; io.EOF after the final chunk
}

// NewReader returns a Reader over the sealed chunks read from src.
func NewReader(src io.Reader, c *Cipher) *Reader {
	return &Reader{c: c, src: src, buf: make([]byte, EncChunkSize+1)}
}

// Read returns authenticated plaintext.
func (r *Reader) Read(p []byte) (int, error) {
	if len(r.pt) > 0 {
		n := copy(p, r.pt)
		r.pt = r.pt[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	sealed, last, err := r.next()
	if err != nil {
		r.err = err
		return 0, err
	}
	if len(p) >= len(sealed)-TagSize {
		// Decrypt straight into p: it saves a copy on large reads.
		out, err := r.c.Open(p[:0], &r.nonce, r.index, last, sealed)
		if err != nil {
			r.err = err
			return 0, err
		}
		r.advance(last)
		return len(out), nil
	}
	if err := r.openInPlace(sealed, last); err != nil {
		return 0, err
	}
	n := copy(p, r.pt)
	r.pt = r.pt[n:]
	return n, nil
}

// WriteTo writes the authenticated plaintext to w chunk by chunk, without
// copying it through an intermediate buffer; io.Copy uses it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.pt) > 0 {
			n, err := w.Write(r.pt)
			total += int64(n)
			r.pt = r.pt[n:]
			if err != nil {
				return total, err
			}
			if len(r.pt) > 0 {
				return total, io.ErrShortWrite
			}
		}
		if r.err == io.EOF {
			return total, nil
		}
		if r.err != nil {
			return total, r.err
		}
		sealed, last, err := r.next()
		if err != nil {
			r.err = err
			return total, err
		}
		if err := r.openInPlace(sealed, last); err != nil {
			return total, err
		}
	}
}

func (r *Reader) openInPlace(sealed []byte, last bool) error {
	out, err := r.c.Open(sealed[:0], &r.nonce, r.index, last, sealed)
	if err != nil {
		r.err = err
		return err
	}
	r.pt = out
	r.advance(last)
	return nil
}

func (r *Reader) advance(last bool) {
	r.index++
	if last {
		r.err = io.EOF
	}
}

// next reads the next sealed chunk into buf and tells whether it is the
// last one. The chunk's plaintext from the previous call must have been
// consumed, since the look-ahead byte moves to the front of buf.
func (r *Reader) next() (sealed []byte, last bool, err error) {
	if r.have == 1 {
		r.buf[0] = r.buf[EncChunkSize]
	}
	n, err := io.ReadFull(r.src, r.buf[r.have:EncChunkSize+1])
	n += r.have
	r.have = 0
	switch {
	case err == nil:
		r.have = 1
		return r.buf[:EncChunkSize], false, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if n < TagSize {
			return nil, false, fmt.Errorf("%w: stream truncated in chunk %d", ErrIntegrity, r.index)
		}
		return r.buf[:n], true, nil
	default:
		return nil, false, fmt.Errorf("stream: reading chunk %d: %w", r.index, err)
	}
}
