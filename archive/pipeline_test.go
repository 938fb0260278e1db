package archive

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"khomat/crypto"
)

// sealed encrypts data as a version's blob is encrypted.
func sealed(t *testing.T, data []byte) (ct []byte, open func(body io.Reader) io.Reader) {
	t.Helper()
	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := binding(id, 1)
	var buf bytes.Buffer
	w, err := crypto.NewEncryptWriter(&buf, dk, b, crypto.AES256GCM, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), func(body io.Reader) io.Reader {
		r, err := crypto.NewDecryptReader(body, dk, b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

type failingReader struct {
	r     io.Reader
	after int
	err   error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, f.err
	}
	n, err := f.r.Read(p[:min(len(p), f.after)])
	f.after -= n
	return n, err
}

// TestVerified runs the full-read checks on both readers: the sequential
// one and the pipeline.
func TestVerified(t *testing.T) {
	for _, size := range []int{pipelineMin - 1, pipelineMin, 3*pipeBufSize + 12345} {
		data := make([]byte, size)
		rand.Read(data)
		want := Digest(sha256.Sum256(data))
		ct, open := sealed(t, data)
		_, piped := verified(open(bytes.NewReader(ct)), io.NopCloser(nil), want, int64(size)).(*pipelined)
		if piped != (size >= pipelineMin) {
			t.Fatalf("size %d: pipelined = %v", size, piped)
		}
		readAll := map[string]func(r io.Reader) ([]byte, error){
			"Read": io.ReadAll,
			"WriteTo": func(r io.Reader) ([]byte, error) {
				var b bytes.Buffer
				_, err := (&Content{ReadCloser: r.(io.ReadCloser)}).WriteTo(&b)
				return b.Bytes(), err
			},
		}
		for how, all := range readAll {
			run := func(name string, body io.Reader, want Digest, size int64, check func(t *testing.T, got []byte, err error)) {
				t.Run(name, func(t *testing.T) {
					cc := &closeCounter{Reader: body}
					r := verified(open(cc), cc, want, size)
					got, err := all(r)
					check(t, got, err)
					if err := r.Close(); err != nil {
						t.Fatal(err)
					}
					if cc.closed != 1 {
						t.Fatalf("body closed %d times, want 1", cc.closed)
					}
				})
			}
			prefix := how + "/" + map[bool]string{true: "pipelined", false: "sequential"}[piped] + "/"
			integrity := func(t *testing.T, _ []byte, err error) {
				if !errors.Is(err, ErrIntegrity) {
					t.Fatalf("err = %v, want ErrIntegrity", err)
				}
			}
			run(prefix+"intact", bytes.NewReader(ct), want, int64(size), func(t *testing.T, got []byte, err error) {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("read %d bytes, err %v; want the %d bytes", len(got), err, len(data))
				}
			})
			wrong := want
			wrong[0] ^= 1
			run(prefix+"wrong digest", bytes.NewReader(ct), wrong, int64(size), integrity)
			run(prefix+"wrong size", bytes.NewReader(ct), want, int64(size)+1, integrity)
			run(prefix+"truncated", bytes.NewReader(ct[:len(ct)-crypto.ChunkSize]), want, int64(size), integrity)
			flipped := bytes.Clone(ct)
			flipped[len(flipped)/2] ^= 1
			run(prefix+"altered", bytes.NewReader(flipped), want, int64(size), integrity)
			cause := errors.New("store went away")
			run(prefix+"store error", &failingReader{r: bytes.NewReader(ct), after: len(ct) / 2, err: cause}, want, int64(size), func(t *testing.T, _ []byte, err error) {
				if !errors.Is(err, cause) {
					t.Fatalf("err = %v, want %v", err, cause)
				}
			})
		}
	}
}

// TestPipelineClose closes a pipeline whose store read is blocked: Close
// returns, the goroutines end, and reads fail afterwards.
func TestPipelineClose(t *testing.T) {
	data := make([]byte, 4*pipeBufSize)
	want := Digest(sha256.Sum256(data))
	ct, open := sealed(t, data)
	before := runtime.NumGoroutine()
	pr, pw := io.Pipe()
	go func() {
		pw.Write(ct[:len(ct)/3]) // then block: the store stalls
	}()
	r := verified(open(pr), pr, want, int64(len(data)))
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- r.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while the store read was blocked")
	}
	if _, err := r.Read(buf); err == nil || err == io.EOF {
		t.Fatalf("Read after Close = %v, want an error", err)
	}
	pw.CloseWithError(errors.New("done"))
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the pipeline", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
