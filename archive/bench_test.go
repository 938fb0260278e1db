package archive_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/crypto"
)

type nopSink struct{}

func (nopSink) Record(context.Context, archive.AuditEvent) error { return nil }

func benchService(b *testing.B, st store.Store) *archive.Service {
	keys, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := archive.New(archive.Config{Store: st, Keys: keys, Audit: nopSink{}})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkDocument256MiB creates and opens a 256 MiB document through the
// service on the real MinIO, beside a plain minio-go put and get of the same
// bytes to the same server in the same run (target: at least 85 %), and
// reports the peak heap growth of each (target: under 64 MiB). The reads
// also report the CPU time this process and the MinIO server spend on each.
func BenchmarkDocument256MiB(b *testing.B) {
	const size = 256 << 20
	s3 := storetest.NewS3(b, false)
	svc := benchService(b, s3)
	ctx := context.Background()
	var id archive.ID

	b.Run("put/minio-go", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := s3.Client().PutObject(ctx, s3.Bucket(), "bench/raw", storetest.Stream(1, size), size, minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create/service", func(b *testing.B) {
		b.SetBytes(size)
		var peak uint64
		for b.Loop() {
			peak = max(peak, storetest.PeakHeap(func() {
				doc, err := svc.Create(ctx, archivist, meta(access.Secret), archive.Upload{Content: storetest.Stream(1, size), ContentType: "application/pdf"})
				if err != nil {
					b.Fatal(err)
				}
				id = doc.ID
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
	b.Run("get/minio-go", func(b *testing.B) {
		b.SetBytes(size)
		cpu := storetest.StartCPU()
		defer func() { cpu.Report(b, b.N) }()
		for b.Loop() {
			obj, err := s3.Client().GetObject(ctx, s3.Bucket(), "bench/raw", minio.GetObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, obj); err != nil || n != size {
				b.Fatal(n, err)
			}
			obj.Close()
		}
	})
	b.Run("open/service", func(b *testing.B) {
		b.SetBytes(size)
		var peak uint64
		cpu := storetest.StartCPU()
		defer func() { cpu.Report(b, b.N) }()
		for b.Loop() {
			peak = max(peak, storetest.PeakHeap(func() {
				c, err := svc.Open(ctx, cadreToi, id, archive.OpenOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, c); err != nil || n != size {
					b.Fatal(n, err)
				}
				c.Close()
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}

// BenchmarkCreateSmall creates 1,000 documents of 4 KiB per op, on the
// folder store and on MinIO, and reports documents per second.
func BenchmarkCreateSmall(b *testing.B) {
	folder, err := store.OpenFolder(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer folder.Close()
	content := storetest.Data(5, 4096)
	const docs = 1000
	for _, backend := range []struct {
		name string
		st   store.Store
	}{{"folder", folder}, {"s3", storetest.NewS3(b, false)}} {
		svc := benchService(b, backend.st)
		// One op is 1,000 documents, created one after another, or by
		// 8 writers at once (a bulk import).
		for _, writers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/writers=%d", backend.name, writers), func(b *testing.B) {
				for b.Loop() {
					next := make(chan struct{}, docs)
					for range docs {
						next <- struct{}{}
					}
					close(next)
					var wg sync.WaitGroup
					errs := make(chan error, writers)
					for range writers {
						wg.Go(func() {
							for range next {
								if _, err := svc.Create(context.Background(), archivist, meta(access.Confidential), upload(content)); err != nil {
									errs <- err
									return
								}
							}
						})
					}
					wg.Wait()
					close(errs)
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(docs*b.N)/b.Elapsed().Seconds(), "docs/s")
			})
		}
	}
}
