package store_test

import (
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"khomat/archive/store"
	"khomat/archive/store/storetest"
)

const benchSize = 256 << 20

// BenchmarkPutGet256MiB puts and gets a 256 MiB object through each backend
// and through minio-go directly, on the same MinIO server in the same run, so
// the figures compare as ratios. The store's put reads a stream of unknown
// length; minio-go is given the length, its fastest path.
func BenchmarkPutGet256MiB(b *testing.B) {
	data := storetest.Data(1, benchSize)
	s3 := storetest.NewS3(b, false)
	folder, err := store.OpenFolder(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer folder.Close()
	ctx := context.Background()
	client := s3.Client()

	b.Run("put/minio-go", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if _, err := client.PutObject(ctx, s3.Bucket(), "bench/raw", newReader(data), benchSize, minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, st := range map[string]store.Store{"s3": s3, "folder": folder} {
		b.Run("put/"+name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				if _, err := st.Put(ctx, "bench/store", opaqueReader(data), store.PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("get/minio-go", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			obj, err := client.GetObject(ctx, s3.Bucket(), "bench/raw", minio.GetObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			drain(b, obj)
		}
	})
	for name, st := range map[string]store.Store{"s3": s3, "folder": folder} {
		b.Run("get/"+name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				rc, _, err := st.Get(ctx, "bench/store", nil)
				if err != nil {
					b.Fatal(err)
				}
				drain(b, rc)
			}
		})
	}
}

// BenchmarkPut1GiBHeap streams 1 GiB through each backend and reports the
// peak heap growth during the put (target: under 64 MiB).
func BenchmarkPut1GiBHeap(b *testing.B) {
	const size = 1 << 30
	s3 := storetest.NewS3(b, false)
	folder, err := store.OpenFolder(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer folder.Close()
	for name, st := range map[string]store.Store{"s3": s3, "folder": folder} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			var peak uint64
			for b.Loop() {
				p := storetest.PeakHeap(func() {
					if _, err := st.Put(context.Background(), "bench/1g", storetest.Stream(2, size), store.PutOptions{}); err != nil {
						b.Error(err)
					}
				})
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

func drain(b *testing.B, rc io.ReadCloser) {
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != benchSize {
		b.Fatalf("read %d bytes: %v", n, err)
	}
}

type sliceReader struct {
	data []byte
	off  int
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

// opaqueReader reads data without revealing its length.
func opaqueReader(data []byte) io.Reader { return &sliceReader{data: data} }

// newReader gives minio-go a reader it can size and read at.
func newReader(data []byte) io.Reader {
	return io.NewSectionReader(readerAt(data), 0, int64(len(data)))
}

type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r)) {
		return 0, io.EOF
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
