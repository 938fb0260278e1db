package store_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"khomat/archive/store"
	"khomat/archive/store/storetest"
)

func TestS3Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.NewS3(t, false) }, storetest.Features{})
}

func TestS3ObjectLockConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.NewS3(t, true) }, storetest.Features{Retention: true})
}

// TestS3AllVersions checks that a plain delete in a versioned bucket keeps
// the old versions, and AllVersions removes every one (crypto-shredding
// depends on it).
func TestS3AllVersions(t *testing.T) {
	s := storetest.NewS3(t, true)
	ctx := t.Context()
	for _, body := range []string{"v1", "v2", "v3"} {
		if _, err := s.Put(ctx, "ver/k", strings.NewReader(body), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	versions := func() int {
		n := 0
		for oi := range s.Client().ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Prefix: "ver/k", WithVersions: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			n++
		}
		return n
	}
	if err := s.Delete(ctx, "ver/k", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := versions(); n != 4 { // three versions and a delete marker
		t.Fatalf("after a plain delete: %d versions, want 3 and a delete marker", n)
	}
	if err := s.Delete(ctx, "ver/k", store.DeleteOptions{AllVersions: true}); err != nil {
		t.Fatal(err)
	}
	if n := versions(); n != 0 {
		t.Fatalf("after deleting all versions: %d remain", n)
	}
}

func TestS3Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = store.NewS3(ctx, store.S3Config{Endpoint: addr, Bucket: "b", AccessKey: "a", SecretKey: "s", MaxRetries: 1})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("NewS3 against a closed port = %v, want ErrUnavailable", err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	cfg := storetest.S3Config(t)
	cfg.SecretKey = "wrong-" + cfg.SecretKey
	_, err := store.NewS3(t.Context(), cfg)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("NewS3 with a wrong secret = %v, want ErrUnavailable", err)
	}
}

func TestS3BadConfig(t *testing.T) {
	for name, cfg := range map[string]store.S3Config{
		"no endpoint":    {Bucket: "b"},
		"no bucket":      {Endpoint: "127.0.0.1:9"},
		"tiny part size": {Endpoint: "127.0.0.1:9", Bucket: "b", PartSize: 1 << 20},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := store.NewS3(t.Context(), cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// flaky fails the first request of each part upload with a dropped
// connection, once, to show that transient errors are retried.
type flaky struct {
	next   http.RoundTripper
	failed atomic.Int32
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") != "" && f.failed.Add(1)%2 == 1 {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	}
	return f.next.RoundTrip(r)
}

func TestS3RetriesTransientErrors(t *testing.T) {
	cfg := storetest.S3Config(t)
	tr := &flaky{next: http.DefaultTransport}
	cfg.Transport = tr
	s, err := store.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for info := range s.List(context.Background(), "", "") {
			s.Delete(context.Background(), info.Key, store.DeleteOptions{})
		}
		s.Client().RemoveBucket(context.Background(), s.Bucket())
	})
	const size = 20 << 20
	info, err := s.Put(t.Context(), "retry/k", storetest.Stream(1, size), store.PutOptions{IfAbsent: true})
	if err != nil {
		t.Fatalf("Put through a flaky connection: %v", err)
	}
	if info.Size != size || tr.failed.Load() < 2 {
		t.Fatalf("size %d, %d injected failures", info.Size, tr.failed.Load())
	}
}
