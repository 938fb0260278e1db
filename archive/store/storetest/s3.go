package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"khomat/archive/store"
)

// S3Config returns the configuration of the real S3 server that tests use,
// from KHOMAT_TEST_S3_ENDPOINT, KHOMAT_TEST_S3_ACCESS_KEY and
// KHOMAT_TEST_S3_SECRET_KEY (scripts/with-minio.sh sets them). Without them
// the test is skipped, except when CI is set: there it fails, so CI cannot
// pass without exercising the real server. The bucket is a new random name.
func S3Config(t testing.TB) store.S3Config {
	t.Helper()
	endpoint := os.Getenv("KHOMAT_TEST_S3_ENDPOINT")
	access := os.Getenv("KHOMAT_TEST_S3_ACCESS_KEY")
	secret := os.Getenv("KHOMAT_TEST_S3_SECRET_KEY")
	if endpoint == "" || access == "" || secret == "" {
		const msg = "no S3 server: set KHOMAT_TEST_S3_ENDPOINT, KHOMAT_TEST_S3_ACCESS_KEY and KHOMAT_TEST_S3_SECRET_KEY, or run under scripts/with-minio.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	return store.S3Config{
		Endpoint:  endpoint,
		Bucket:    "khomat-test-" + hex.EncodeToString(b[:]),
		AccessKey: access,
		SecretKey: secret,
		PathStyle: true,
	}
}

// NewS3 connects to a new bucket on the test server (see S3Config), with
// object lock when lock is true. The bucket is emptied and removed when the
// test ends, unless locked objects keep it.
func NewS3(t testing.TB, lock bool) *store.S3 {
	t.Helper()
	cfg := S3Config(t)
	cfg.ObjectLock = lock
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.NewS3(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to the test S3 server: %v", err)
	}
	t.Cleanup(func() { removeBucket(s) })
	return s
}

func removeBucket(s *store.S3) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.Client()
	objects := c.ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	for range c.RemoveObjects(ctx, s.Bucket(), objects, minio.RemoveObjectsOptions{GovernanceBypass: true}) {
		// Locked versions stay; the throw-away server goes with them.
	}
	_ = c.RemoveBucket(ctx, s.Bucket())
}
