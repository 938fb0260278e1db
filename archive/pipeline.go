package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"khomat/crypto"
)

// A full read of a large version runs as a pipeline of three goroutines, so
// that receiving and decrypting, hashing, and the caller's own writing each
// take a core when there is one:
//
//	fill (store read + decrypt) → hash (SHA-256) → caller (Read or WriteTo)
//
// Buffers travel the stages in order and come back to fill through free.
// The caller receives a buffer only after it was hashed, and the end of the
// content only after the size and digest were checked, so, as with the
// sequential reader, EOF always means verified content.
const (
	pipeBufSize = 4 * crypto.ChunkSize // whole chunks: decrypted in place
	pipeBufs    = 4
)

// pipelineMin is the size from which a full read is pipelined; smaller
// versions are read by one goroutine, which costs less than three.
const pipelineMin = 2 * pipeBufSize

var pipeBufPool = sync.Pool{New: func() any { return new([pipeBufSize]byte) }}

type pipeBuf struct {
	b   *[pipeBufSize]byte
	n   int
	err error // set on the last buffer: io.EOF once verified, or the failure
}

type pipelined struct {
	body   io.Closer
	free   chan *pipeBuf
	hashed chan *pipeBuf
	stop   chan struct{}
	wg     sync.WaitGroup

	cur  *pipeBuf
	off  int
	err  error
	once sync.Once
}

// newPipelined starts the pipeline over plain, the decrypting reader of
// body. want and size are the metadata's digest and size.
func newPipelined(plain io.Reader, body io.Closer, want Digest, size int64) *pipelined {
	p := &pipelined{
		body:   body,
		free:   make(chan *pipeBuf, pipeBufs),
		hashed: make(chan *pipeBuf, pipeBufs),
		stop:   make(chan struct{}),
	}
	for range pipeBufs {
		p.free <- &pipeBuf{b: pipeBufPool.Get().(*[pipeBufSize]byte)}
	}
	filled := make(chan *pipeBuf, pipeBufs)
	p.wg.Add(2)
	go p.fill(plain, filled)
	go p.hash(filled, want, size)
	return p
}

// fill decrypts into free buffers until the end of the stream or an error,
// which travels on the last buffer it sends.
func (p *pipelined) fill(plain io.Reader, filled chan<- *pipeBuf) {
	defer p.wg.Done()
	defer close(filled)
	for {
		var b *pipeBuf
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		n, err := io.ReadFull(plain, b.b[:])
		b.n, b.err = n, nil
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			// The decrypting reader reports EOF only after it
			// authenticated the final chunk.
			b.err = io.EOF
		case err != nil && errors.Is(err, crypto.ErrIntegrity):
			b.err = fmt.Errorf("archive: content: %w", ErrIntegrity)
		case err != nil:
			b.err = err
		}
		last := b.err != nil // b belongs to hash once sent
		select {
		case filled <- b:
		case <-p.stop:
			return
		}
		if last {
			return
		}
	}
}

// hash hashes each filled buffer before passing it on, and checks the size
// and digest on the last.
func (p *pipelined) hash(filled <-chan *pipeBuf, want Digest, size int64) {
	defer p.wg.Done()
	defer close(p.hashed)
	h := sha256.New()
	var total int64
	for b := range filled {
		h.Write(b.b[:b.n])
		total += int64(b.n)
		if b.err == io.EOF {
			var got Digest
			h.Sum(got[:0])
			if total != size || got != want {
				b.err = fmt.Errorf("archive: content digest mismatch: %w", ErrIntegrity)
			}
		}
		select {
		case p.hashed <- b:
		case <-p.stop:
			return
		}
	}
}

// next makes p.cur a buffer with bytes left to give, or sets p.err.
func (p *pipelined) next() bool {
	for p.err == nil {
		if p.cur != nil {
			if p.off < p.cur.n {
				return true
			}
			if p.cur.err != nil {
				p.err = p.cur.err
				return false
			}
			p.free <- p.cur // never blocks: there are pipeBufs slots
			p.cur = nil
		}
		b, ok := <-p.hashed
		if !ok {
			// Only a closed pipeline stops without a last buffer.
			p.err = errClosedContent
			return false
		}
		p.cur, p.off = b, 0
	}
	return false
}

var errClosedContent = errors.New("archive: read from closed content")

func (p *pipelined) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if !p.next() {
		return 0, p.err
	}
	n := copy(b, p.cur.b[p.off:p.cur.n])
	p.off += n
	return n, nil
}

// WriteTo hands the verified buffers to w without copying them through a
// buffer of the caller's.
func (p *pipelined) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.next() {
		n, err := w.Write(p.cur.b[p.off:p.cur.n])
		total += int64(n)
		p.off += n
		if err != nil {
			return total, err
		}
	}
	if p.err == io.EOF {
		return total, nil
	}
	return total, p.err
}

// Close stops the pipeline, waits for its goroutines and closes the store
// reader.
func (p *pipelined) Close() error {
	var err error
	p.once.Do(func() {
		close(p.stop)
		err = p.body.Close() // unblocks a fill waiting on the store
		p.wg.Wait()
		if p.err == nil {
			p.err = errClosedContent
		}
		// The goroutines are gone: the buffers left with the caller
		// go back to the pool (any a stopped goroutine held are left
		// to the collector).
		if p.cur != nil {
			pipeBufPool.Put(p.cur.b)
			p.cur = nil
		}
		drain(p.free)
		drain(p.hashed)
	})
	return err
}

// drain returns the buffers waiting in ch to the pool.
func drain(ch chan *pipeBuf) {
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				return
			}
			pipeBufPool.Put(b.b)
		default:
			return
		}
	}
}
