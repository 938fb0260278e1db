package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says how to reach an S3-compatible bucket.
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // optional
	UseTLS    bool
	// PathStyle forces path-style requests (http://host/bucket/key),
	// which MinIO and most self-hosted services need behind a plain host
	// name; otherwise the client chooses.
	PathStyle bool
	// ObjectLock creates the bucket, when missing, with S3 Object Lock
	// (and so versioning) enabled, so that Put can take a Retention.
	ObjectLock bool
	// PartSize is the size of each part of a streaming upload (default
	// 8 MiB, at least 5 MiB). Memory of one upload is about PartSize ×
	// (Concurrency + 1).
	PartSize int64
	// Concurrency is how many parts of one upload are in flight at once
	// (default 2).
	Concurrency int
	// MaxRetries bounds minio-go's retries, with exponential backoff and
	// jitter, of a request that failed transiently (default 5).
	MaxRetries int
	// Transport, when set, carries the HTTP requests (custom TLS roots,
	// fault injection in tests).
	Transport http.RoundTripper
}

const (
	defaultPartSize    = 8 << 20
	minPartSize        = 5 << 20
	defaultConcurrency = 2
	defaultMaxRetries  = 5
	smallObject        = 64 << 10
)

// S3 is the store backend for any S3-compatible service, through minio-go.
//
// Streaming uploads go through minio's Core API: the first part decides
// between one PUT (small objects) and a multipart upload whose parts are
// sent Concurrency at a time. A create-if-absent or replace-if-match sends
// its condition on the PUT, or on both the initiation and the completion of
// a multipart upload: some servers check it only at completion. Retries are
// minio-go's; part bodies are in memory, so a retried part is sent again
// whole.
type S3 struct {
	client      *minio.Client
	core        minio.Core
	bucket      string
	partSize    int64
	concurrency int
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket described by cfg, creating it when missing,
// and checks that the credentials work. An unreachable server or rejected
// credentials give an error wrapping ErrUnavailable.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("s3 store: no endpoint configured")
	case cfg.Bucket == "":
		return nil, errors.New("s3 store: no bucket configured")
	case cfg.PartSize != 0 && cfg.PartSize < minPartSize:
		return nil, fmt.Errorf("s3 store: part size %d is below the S3 minimum of 5 MiB", cfg.PartSize)
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = defaultPartSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = defaultMaxRetries
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseTLS,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w: %v", ErrUnavailable, err)
	}
	s := &S3{
		client:      client,
		core:        minio.Core{Client: client},
		bucket:      cfg.Bucket,
		partSize:    cfg.PartSize,
		concurrency: cfg.Concurrency,
	}
	if err := s.ensureBucket(ctx, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *S3) ensureBucket(ctx context.Context, cfg S3Config) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 store: bucket %s at %s: %w: %v", s.bucket, cfg.Endpoint, ErrUnavailable, err)
	}
	if exists {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: cfg.Region, ObjectLocking: cfg.ObjectLock})
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists") {
			return nil // created by a concurrent caller
		}
		return fmt.Errorf("s3 store: creating bucket %s: %w: %v", s.bucket, ErrUnavailable, err)
	}
	return nil
}

// Client returns the underlying minio-go client, for operations beyond the
// Store interface (benchmarks, administration).
func (s *S3) Client() *minio.Client { return s.client }

// Bucket returns the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// mapError turns a minio-go or network error into the store's errors.
func (s *S3) mapError(op, key string, err error, opts PutOptions) error {
	if err == nil {
		return nil
	}
	if ctxErr := contextError(err); ctxErr != nil {
		return fmt.Errorf("s3 store: %s %s: %w", op, key, ctxErr)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "NoSuchKey", "NoSuchVersion":
			if opts.IfMatch != "" {
				return fmt.Errorf("s3 store: %s %s: %w", op, key, ErrPrecondition)
			}
			return fmt.Errorf("s3 store: %s %s: %w", op, key, ErrNotExist)
		case "PreconditionFailed", "ConditionalRequestConflict":
			if opts.IfAbsent {
				return fmt.Errorf("s3 store: %s %s: %w", op, key, ErrExist)
			}
			return fmt.Errorf("s3 store: %s %s: %w", op, key, ErrPrecondition)
		case "ObjectLocked", "InvalidRetentionPeriod":
			return fmt.Errorf("s3 store: %s %s: %w", op, key, ErrLocked)
		case "AccessDenied", "InvalidRequest":
			if op == "delete" && lockMessage(resp.Message) {
				// AWS answers AccessDenied, MinIO InvalidRequest
				// ("Object is WORM protected ...") to deleting a
				// version under retention.
				return fmt.Errorf("s3 store: %s %s: %w: %s", op, key, ErrLocked, resp.Message)
			}
			if resp.Code == "InvalidRequest" && opts.Retention != nil {
				return fmt.Errorf("s3 store: %s %s: retention lock: %w: %s", op, key, ErrUnsupported, resp.Message)
			}
			if resp.Code == "AccessDenied" {
				return fmt.Errorf("s3 store: %s %s: %w: %s", op, key, ErrUnavailable, resp.Message)
			}
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "InvalidBucketName":
			return fmt.Errorf("s3 store: %s %s: %w: %s", op, key, ErrUnavailable, resp.Code)
		}
		if resp.StatusCode >= 500 {
			return fmt.Errorf("s3 store: %s %s: %w: %s", op, key, ErrUnavailable, resp.Code)
		}
		return fmt.Errorf("s3 store: %s %s: %s: %s", op, key, resp.Code, resp.Message)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return fmt.Errorf("s3 store: %s %s: %w: %v", op, key, ErrUnavailable, err)
	}
	return fmt.Errorf("s3 store: %s %s: %w", op, key, err)
}

// lockMessage reports whether a refusal names an object lock; S3 gives
// such refusals no error code of their own.
func lockMessage(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "worm") || strings.Contains(msg, "retention") || strings.Contains(msg, "object lock")
}

func contextError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

func (s *S3) putOptions(opts PutOptions) minio.PutObjectOptions {
	po := minio.PutObjectOptions{ContentType: opts.ContentType}
	if opts.IfAbsent {
		po.SetMatchETagExcept("*")
	}
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	if r := opts.Retention; r != nil {
		po.Mode = minio.RetentionMode(r.Mode)
		po.RetainUntilDate = r.Until.UTC()
	}
	return po
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Info, error) {
	if err := validatePut(key, opts); err != nil {
		return Info{}, err
	}
	po := s.putOptions(opts)
	// Read a small head first: most objects (metadata, envelopes) end
	// there and need no part-sized buffer.
	head := make([]byte, smallObject)
	n, err := io.ReadFull(contextReader{ctx, r}, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return s.putSingle(ctx, key, head[:n], po, opts)
	}
	if err != nil {
		return Info{}, s.mapError("put", key, err, opts)
	}
	first := make([]byte, s.partSize)
	copy(first, head)
	m, err := io.ReadFull(contextReader{ctx, r}, first[n:])
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return s.putSingle(ctx, key, first[:n+m], po, opts)
	case nil:
		return s.putMultipart(ctx, key, first, r, po, opts)
	default:
		return Info{}, s.mapError("put", key, err, opts)
	}
}

func (s *S3) putSingle(ctx context.Context, key string, body []byte, po minio.PutObjectOptions, opts PutOptions) (Info, error) {
	md5sum := ""
	if opts.Retention != nil {
		// S3 requires an integrity header on writes under object lock.
		sum := md5.Sum(body)
		md5sum = base64.StdEncoding.EncodeToString(sum[:])
	}
	up, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), md5sum, "", po)
	if err != nil {
		return Info{}, s.mapError("put", key, err, opts)
	}
	return Info{Key: key, Size: up.Size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

// putMultipart uploads first and the rest of r as a multipart upload, with
// up to s.concurrency parts in flight while the next one is read: at most
// s.concurrency+1 part buffers, reused. On any failure, cancellation
// included, the upload is aborted, so nothing becomes visible.
func (s *S3) putMultipart(ctx context.Context, key string, first []byte, r io.Reader, po minio.PutObjectOptions, opts PutOptions) (info Info, err error) {
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, po)
	if err != nil {
		return Info{}, s.mapError("put", key, err, opts)
	}
	defer func() {
		if err != nil {
			// The caller's context may be the reason; abort anyway.
			abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = s.core.AbortMultipartUpload(abortCtx, s.bucket, key, uploadID)
		}
	}()

	upCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		parts     []minio.CompletePart
		size      int64
		free      = make(chan []byte, s.concurrency+1)
		allocated = 1
	)
	upload := func(num int, body []byte) {
		defer wg.Done()
		defer func() { free <- body[:cap(body)] }()
		popts := minio.PutObjectPartOptions{}
		if opts.Retention != nil {
			sum := md5.Sum(body)
			popts.Md5Base64 = base64.StdEncoding.EncodeToString(sum[:])
		}
		part, err := s.core.PutObjectPart(upCtx, s.bucket, key, uploadID, num, bytes.NewReader(body), int64(len(body)), popts)
		if err != nil {
			cancel(err)
			return
		}
		mu.Lock()
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
		mu.Unlock()
	}
	nextBuffer := func() ([]byte, error) {
		select {
		case b := <-free:
			return b, nil
		default:
		}
		if allocated <= s.concurrency {
			allocated++
			return make([]byte, s.partSize), nil
		}
		select {
		case b := <-free:
			return b, nil
		case <-upCtx.Done():
			return nil, context.Cause(upCtx)
		}
	}

	body := first
	var readErr error
	for num := 1; ; num++ {
		size += int64(len(body))
		wg.Add(1)
		go upload(num, body)
		if int64(len(body)) < s.partSize {
			break // that was the last, short part
		}
		buf, err := nextBuffer()
		if err != nil {
			readErr = err
			break
		}
		n, err := io.ReadFull(contextReader{upCtx, r}, buf)
		if err == io.EOF {
			break // the previous part was the last
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			readErr = err
			break
		}
		body = buf[:n]
	}
	wg.Wait()
	if readErr == nil {
		readErr = context.Cause(upCtx)
	}
	if readErr != nil {
		return Info{}, s.mapError("put", key, readErr, opts)
	}
	sortParts(parts)
	up, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, po)
	if err != nil {
		return Info{}, s.mapError("put", key, err, opts)
	}
	return Info{Key: key, Size: size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

func sortParts(parts []minio.CompletePart) {
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := validateRange(rng); err != nil {
		return nil, Info{}, err
	}
	var opts minio.GetObjectOptions
	if rng != nil {
		var err error
		switch {
		case rng.Length == 0:
			info, err := s.Stat(ctx, key)
			if err != nil {
				return nil, Info{}, err
			}
			return io.NopCloser(bytes.NewReader(nil)), info, nil
		case rng.Length < 0 && rng.Offset > 0:
			err = opts.SetRange(rng.Offset, 0)
		case rng.Length > 0:
			err = opts.SetRange(rng.Offset, rng.Offset+rng.Length-1)
		}
		if err != nil {
			return nil, Info{}, fmt.Errorf("s3 store: get %s: %w", key, err)
		}
	}
	body, oi, header, err := s.core.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "InvalidRange" {
			// The range starts past the end: no bytes, as on the folder.
			info, err := s.Stat(ctx, key)
			if err != nil {
				return nil, Info{}, err
			}
			return io.NopCloser(bytes.NewReader(nil)), info, nil
		}
		return nil, Info{}, s.mapError("get", key, err, PutOptions{})
	}
	info := Info{Key: key, Size: oi.Size, ETag: oi.ETag, ModTime: oi.LastModified}
	if rng != nil {
		// A ranged response describes the range; report the object.
		if total, ok := contentRangeTotal(header.Get("Content-Range")); ok {
			info.Size = total
		}
	}
	return body, info, nil
}

// contentRangeTotal reads the complete length from "bytes a-b/total".
func contentRangeTotal(h string) (int64, bool) {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(h[i+1:], 10, 64)
	return n, err == nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.mapError("stat", key, err, PutOptions{})
	}
	return Info{Key: key, Size: oi.Size, ETag: oi.ETag, ModTime: oi.LastModified}, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix, startAfter string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(Info{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio-go's listing goroutine on an early break
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
			Prefix: prefix, StartAfter: startAfter, Recursive: true,
		}) {
			if oi.Err != nil {
				yield(Info{}, s.mapError("list", prefix, oi.Err, PutOptions{}))
				return
			}
			if !yield(Info{Key: oi.Key, Size: oi.Size, ETag: oi.ETag, ModTime: oi.LastModified}, nil) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(Info{}, err)
		}
	}
}

// Delete implements Store. In a versioned bucket a plain delete leaves a
// delete marker and keeps the old versions (locked or not); AllVersions
// removes every version, and fails with ErrLocked for one under retention.
func (s *S3) Delete(ctx context.Context, key string, opts DeleteOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	ropts := minio.RemoveObjectOptions{GovernanceBypass: opts.BypassGovernance}
	if !opts.AllVersions {
		return s.mapError("delete", key, s.client.RemoveObject(ctx, s.bucket, key, ropts), PutOptions{})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var versions []string
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix: key, WithVersions: true, Recursive: true,
	}) {
		if oi.Err != nil {
			return s.mapError("delete", key, oi.Err, PutOptions{})
		}
		if oi.Key == key {
			versions = append(versions, oi.VersionID)
		}
	}
	for _, v := range versions {
		ropts.VersionID = v
		if err := s.client.RemoveObject(ctx, s.bucket, key, ropts); err != nil {
			return s.mapError("delete", key, err, PutOptions{})
		}
	}
	return nil
}
