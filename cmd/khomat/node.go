package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"khomat/archive"
	"khomat/archive/audit"
	"khomat/archive/store"
	"khomat/crypto"
)

// storeConfig says where the durable data lives: the folder store under the
// data folder, or an S3 bucket.
type storeConfig struct {
	data      string
	node      string
	keyFile   string
	s3        store.S3Config
	s3Enabled bool
}

// addStoreFlags adds the flags shared by every command that opens a node's
// data: the data folder, the master key, the node name and S3.
func (c *cli) addStoreFlags(fs *flag.FlagSet, sc *storeConfig) {
	fs.StringVar(&sc.data, "data", c.env("KHOMAT_DATA", "./khomat-data"), "data folder: store/, audit/, index/, keyring (env KHOMAT_DATA)")
	fs.StringVar(&sc.node, "node", c.env("KHOMAT_NODE", "local"), "this node's name in the audit log (env KHOMAT_NODE)")
	fs.StringVar(&sc.keyFile, "key-file", c.env("KHOMAT_KEY_FILE", ""), "master key file sealing the keyring (env KHOMAT_KEY_FILE); the passphrase comes from KHOMAT_MASTER_PASSPHRASE")
	fs.StringVar(&sc.s3.Endpoint, "s3-endpoint", c.env("KHOMAT_S3_ENDPOINT", ""), "S3 endpoint host:port; empty keeps the folder store (env KHOMAT_S3_ENDPOINT)")
	fs.StringVar(&sc.s3.Bucket, "s3-bucket", c.env("KHOMAT_S3_BUCKET", "khomat"), "S3 bucket (env KHOMAT_S3_BUCKET)")
	fs.StringVar(&sc.s3.AccessKey, "s3-access-key", c.env("KHOMAT_S3_ACCESS_KEY", ""), "S3 access key (env KHOMAT_S3_ACCESS_KEY)")
	fs.StringVar(&sc.s3.Region, "s3-region", c.env("KHOMAT_S3_REGION", ""), "S3 region (env KHOMAT_S3_REGION)")
	fs.BoolVar(&sc.s3.UseTLS, "s3-tls", c.envBool("KHOMAT_S3_TLS", false), "use TLS to S3 (env KHOMAT_S3_TLS)")
	fs.BoolVar(&sc.s3.PathStyle, "s3-path-style", c.envBool("KHOMAT_S3_PATH_STYLE", true), "path-style S3 requests (env KHOMAT_S3_PATH_STYLE)")
	fs.BoolVar(&sc.s3.ObjectLock, "s3-object-lock", c.envBool("KHOMAT_S3_OBJECT_LOCK", false), "create the bucket with object lock (env KHOMAT_S3_OBJECT_LOCK)")
}

func (c *cli) envInt(name string, def int) int {
	v, err := strconv.Atoi(c.getenv(name))
	if err != nil {
		return def
	}
	return v
}

func (c *cli) envBool(name string, def bool) bool {
	v, err := strconv.ParseBool(c.getenv(name))
	if err != nil {
		return def
	}
	return v
}

// finish completes the store configuration after parsing: the secret key
// comes only from the environment (a flag would show in ps).
func (c *cli) finish(sc *storeConfig) {
	sc.s3Enabled = sc.s3.Endpoint != ""
	sc.s3.SecretKey = c.getenv("KHOMAT_S3_SECRET_KEY")
}

// node is an opened data folder: the store, the keyring, the audit log and
// the archive service. close releases them in reverse order.
type node struct {
	store   store.Store
	keys    *crypto.Keyring
	audit   *audit.Log
	archive *archive.Service
	closers []func() error
}

func (n *node) close(ctx context.Context) error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	n.closers = nil
	return errors.Join(errs...)
}

// openStore opens the folder store or the S3 bucket.
func openStore(ctx context.Context, sc *storeConfig) (store.Store, func() error, error) {
	if sc.s3Enabled {
		s, err := store.NewS3(ctx, sc.s3)
		if err != nil {
			return nil, nil, err
		}
		return s, func() error { return nil }, nil
	}
	f, err := store.OpenFolder(filepath.Join(sc.data, "store"))
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// keyringPath is where the sealed keyring lives.
func keyringPath(sc *storeConfig) string { return filepath.Join(sc.data, "keyring") }

// trialKeyFile is the generated master key file of a trial installation.
func trialKeyFile(sc *storeConfig) string { return filepath.Join(sc.data, "master.key") }

// masterKey finds the master key: KHOMAT_MASTER_PASSPHRASE, the key file
// given, or the trial key file in the data folder. With create, a first
// start with none of them generates the trial key file, warning loudly.
func (c *cli) masterKey(sc *storeConfig, create bool) (*crypto.MasterKey, error) {
	if pass := c.getenv("KHOMAT_MASTER_PASSPHRASE"); pass != "" {
		return crypto.MasterKeyFromPassphrase([]byte(pass), crypto.DefaultArgon2Params())
	}
	if sc.keyFile != "" {
		return crypto.MasterKeyFromFile(sc.keyFile)
	}
	trial := trialKeyFile(sc)
	if _, err := os.Stat(trial); err == nil {
		c.warnTrial(trial)
		return crypto.MasterKeyFromFile(trial)
	}
	if _, err := os.Stat(keyringPath(sc)); err == nil || !create {
		return nil, errors.New("no master key: set KHOMAT_MASTER_PASSPHRASE or give --key-file")
	}
	if err := crypto.GenerateKeyFile(trial, rand.Reader); err != nil {
		return nil, err
	}
	c.warnTrial(trial)
	return crypto.MasterKeyFromFile(trial)
}

func (c *cli) warnTrial(path string) {
	fmt.Fprintf(c.stderr, `
!!! CẢNH BÁO / WARNING !!!
Khóa chủ (master key) đang nằm trong thư mục dữ liệu: %s
Chỉ dùng để dùng thử. Khi dùng thật, đặt KHOMAT_MASTER_PASSPHRASE hoặc --key-file
trỏ tới một tệp khóa cất riêng, không để cạnh dữ liệu.
The master key sits in the data folder, beside what it protects: for trial use
only. In production set KHOMAT_MASTER_PASSPHRASE or --key-file to a key kept apart.

`, path)
}

// openKeyring reads the keyring, or creates it on a first start.
func (c *cli) openKeyring(sc *storeConfig, create bool) (*crypto.Keyring, error) {
	if err := os.MkdirAll(sc.data, 0o700); err != nil {
		return nil, err
	}
	mk, err := c.masterKey(sc, create)
	if err != nil {
		return nil, err
	}
	defer mk.Destroy()
	path := keyringPath(sc)
	kr, err := crypto.ReadKeyringFile(path, mk, rand.Reader)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !create {
		return kr, err
	}
	kr, err = crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		return nil, err
	}
	if err := kr.WriteFile(path, mk); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stderr, "khomat: created the keyring %s; back it up apart from the store and the master key\n", path)
	return kr, nil
}

// openNode opens the data folder: store, keyring (created when create),
// audit log and archive service, which tells idx (when not nil) of every
// change.
func (c *cli) openNode(ctx context.Context, sc *storeConfig, create bool, logger *slog.Logger, idx archive.Indexer) (*node, error) {
	n := &node{}
	st, closeStore, err := openStore(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	n.store = st
	n.closers = append(n.closers, closeStore)
	kr, err := c.openKeyring(sc, create)
	if err != nil {
		n.close(ctx)
		return nil, fmt.Errorf("opening the keyring: %w", err)
	}
	n.keys = kr
	n.closers = append(n.closers, func() error { kr.Destroy(); return nil })
	log, err := audit.Open(filepath.Join(sc.data, "audit"), audit.Options{Node: sc.node, Store: st, Logger: logger})
	if err != nil {
		n.close(ctx)
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	n.audit = log
	n.closers = append(n.closers, func() error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return log.Close(cctx)
	})
	svc, err := archive.New(archive.Config{Store: st, Keys: kr, Audit: log, Index: idx, Logger: logger})
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	n.archive = svc
	return n, nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix
// (binary: 1K = 1024), or KiB/MiB/GiB/TiB.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, with K, M, G or T", s)
	}
	return n * mult, nil
}

// newLogger is the operational log: JSON lines on w at level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
