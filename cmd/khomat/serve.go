package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"log/slog"

	"khomat/api"
	"khomat/api/web"
	"khomat/archive/audit"
	"khomat/archive/identity"
)

// serveConfig is the configuration of khomat serve.
type serveConfig struct {
	storeConfig
	indexConfig
	listen        string
	maxUpload     string
	maxSearches   int
	tlsCert       string
	tlsKey        string
	secureCookies bool
	logLevel      string
	sweepGrace    time.Duration
}

func (c *cli) serve(ctx context.Context, args []string) int {
	var cfg serveConfig
	fs := c.flags("serve", "serve [flags]\n\nRuns the server. Every flag has a KHOMAT_* environment variable; secrets come only from the environment:\nKHOMAT_MASTER_PASSPHRASE, KHOMAT_ADMIN_PASSWORD, KHOMAT_S3_SECRET_KEY.")
	c.addStoreFlags(fs, &cfg.storeConfig)
	c.addIndexFlags(fs, &cfg.indexConfig)
	fs.StringVar(&cfg.listen, "listen", c.env("KHOMAT_LISTEN", "127.0.0.1:8080"), "address to listen on (env KHOMAT_LISTEN)")
	fs.StringVar(&cfg.maxUpload, "max-upload", c.env("KHOMAT_MAX_UPLOAD", "1GiB"), "largest file one upload may carry (env KHOMAT_MAX_UPLOAD)")
	fs.IntVar(&cfg.maxSearches, "max-searches", c.envInt("KHOMAT_MAX_SEARCHES", 0), "searches run at once, the rest wait their turn; 0 for twice the cores (env KHOMAT_MAX_SEARCHES)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", c.env("KHOMAT_TLS_CERT", ""), "serve HTTPS with this certificate (env KHOMAT_TLS_CERT)")
	fs.StringVar(&cfg.tlsKey, "tls-key", c.env("KHOMAT_TLS_KEY", ""), "and this private key (env KHOMAT_TLS_KEY)")
	fs.BoolVar(&cfg.secureCookies, "secure-cookies", c.envBool("KHOMAT_SECURE_COOKIES", false), "mark session cookies Secure (behind a TLS proxy; implied by --tls-cert) (env KHOMAT_SECURE_COOKIES)")
	fs.StringVar(&cfg.logLevel, "log-level", c.env("KHOMAT_LOG_LEVEL", "info"), "debug, info, warn or error (env KHOMAT_LOG_LEVEL)")
	fs.DurationVar(&cfg.sweepGrace, "sweep-grace", time.Hour, "at start, remove debris of interrupted uploads older than this")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("serve takes no arguments")
		return exitUsage
	}
	c.finish(&cfg.storeConfig)
	maxUpload, err := parseSize(cfg.maxUpload)
	if err != nil {
		c.errorf("--max-upload: %v", err)
		return exitUsage
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		c.errorf("--tls-cert and --tls-key go together")
		return exitUsage
	}
	logger, err := newLogger(c.stderr, cfg.logLevel)
	if err != nil {
		c.errorf("%v", err)
		return exitUsage
	}
	if err := c.runServer(ctx, &cfg, maxUpload, logger); err != nil {
		c.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}

// runServer opens the node, serves until ctx ends, and shuts down
// gracefully: requests in flight finish, then the audit log is closed with
// a final checkpoint.
func (c *cli) runServer(ctx context.Context, cfg *serveConfig, maxUpload int64, logger *slog.Logger) error {
	gin.SetMode(gin.ReleaseMode)
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return err
	}
	idx, err := c.openIndex(&cfg.storeConfig, &cfg.indexConfig, logger)
	if err != nil {
		return fmt.Errorf("opening the search indexes: %w", err)
	}
	n, err := c.openNode(ctx, &cfg.storeConfig, true, logger, idx)
	if err != nil {
		idx.Close()
		return err
	}
	// The indexes close after the archive stops telling them of changes.
	n.closers = append([]func() error{idx.Close}, n.closers...)
	defer func() {
		if err := n.close(ctx); err != nil {
			logger.Error("closing", "err", err)
		}
	}()
	ids, err := identity.Open(ctx, identity.Config{Store: n.store, Keys: n.keys, Audit: n.audit, Logger: logger})
	if err != nil {
		return fmt.Errorf("opening the account directory: %w", err)
	}
	n.closers = append(n.closers, ids.Close)
	if err := c.ensureAdmin(ctx, ids); err != nil {
		return err
	}

	// Reconcile the indexes with the store in the background; searches
	// answer 503 until it is done, so no stale entry shows a title.
	repaired := make(chan struct{})
	go func() {
		defer close(repaired)
		rep, err := idx.Repair(ctx, n.archive.Corpus())
		if err != nil {
			logger.Error("search index repair failed; searches stay unavailable", "err", err)
			return
		}
		logger.Info("search indexes reconciled with the store", "documents", rep.Documents, "indexed", rep.Indexed,
			"removed", rep.Removed, "errors", rep.Errors, "duration_ms", rep.Duration.Milliseconds())
	}()
	defer func() { <-repaired }()

	secure := cfg.secureCookies || cfg.tlsCert != ""
	auditDir := filepath.Join(cfg.data, "audit")
	wacc := web.NewIdentity(ids)
	pages, err := web.New(web.Config{
		Documents: n.archive, Sessions: wacc, Users: wacc, Search: web.NewIndex(idx), Audit: n.audit,
		Verify: func(ctx context.Context) (audit.Report, error) {
			// Sign what is there first, so that every event is covered.
			if _, err := n.audit.Checkpoint(ctx); err != nil {
				return audit.Report{}, err
			}
			return audit.Verify(ctx, audit.Folder{Dir: auditDir}, n.audit.Verifier())
		},
		MaxUpload: maxUpload, SecureCookies: secure, Logger: logger,
	})
	if err != nil {
		return err
	}
	acc := api.NewIdentity(ids)
	handler, err := api.New(api.Config{
		Documents: n.archive, Sessions: acc, Users: acc, Audit: n.audit, Search: api.NewSearch(idx), Pages: pages,
		Ready:     []api.Check{api.StoreCheck(n.store, identity.SystemKeyObject), api.IndexCheck(idx), api.AuditCheck(n.audit)},
		MaxUpload: maxUpload, SecureCookies: secure, MaxSearches: cfg.maxSearches,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.listen, err)
	}
	scheme := "http"
	if cfg.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(c.stdout, "khomat: serving on %s://%s (data %s)\n", scheme, ln.Addr(), filepath.Clean(cfg.data))
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.tlsCert != "" {
			errc <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	mctx, stopMaintenance := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() {
		defer close(maintained)
		maintain(mctx, n, ids, logger, time.Hour, cfg.sweepGrace)
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	stopMaintenance()
	<-maintained
	if serveErr != nil {
		return fmt.Errorf("serving: %w", serveErr)
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests cut off at shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(c.stdout, "khomat: stopped")
	return nil
}

// ensureAdmin creates the admin account on a first start, with
// KHOMAT_ADMIN_PASSWORD or a generated password printed once.
func (c *cli) ensureAdmin(ctx context.Context, ids *identity.Service) error {
	pw := c.getenv("KHOMAT_ADMIN_PASSWORD")
	generated := pw == ""
	if generated {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		pw = base64.RawURLEncoding.EncodeToString(b[:])
	}
	_, created, err := ids.EnsureAdmin(ctx, "admin", pw)
	if err != nil {
		return fmt.Errorf("creating the admin account: %w", err)
	}
	if created && generated {
		fmt.Fprintf(c.stdout, "\nkhomat: đã tạo tài khoản quản trị / created the admin account\n  username: admin\n  password: %s\nMật khẩu chỉ hiện một lần. / This password is shown once; sign in and change it.\n\n", pw)
	} else if created {
		fmt.Fprintln(c.stdout, "khomat: created the admin account \"admin\" with KHOMAT_ADMIN_PASSWORD")
	}
	return nil
}

// maintain runs the background work of a node until ctx ends: once, the
// sweep of debris that interrupted uploads left (objects older than grace
// that no committed version owns); then now and every interval, the
// declassification of documents whose protection period has ended and the
// deletion of sessions that can no longer be used; and every retryEvery,
// the indexing of changes the search indexes failed to take. None of it
// blocks serving: on a large store a pass takes a while.
func maintain(ctx context.Context, n *node, ids *identity.Service, logger *slog.Logger, interval, grace time.Duration) {
	if stats, err := n.archive.Sweep(ctx, grace); err != nil && ctx.Err() == nil {
		logger.Warn("sweep at start failed; the next start retries", "err", err)
	} else if stats.Removed > 0 {
		logger.Info("swept debris of interrupted uploads", "documents", stats.Documents, "removed", stats.Removed)
	}
	periodic := func() {
		if k, err := n.archive.DeclassifyExpired(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("automatic declassification failed; retried later", "err", err)
		} else if k > 0 {
			logger.Info("declassified documents whose protection period ended", "documents", k)
		}
		if k, err := ids.SweepSessions(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("sweeping sessions failed; retried later", "err", err)
		} else if k > 0 {
			logger.Info("swept ended sessions", "sessions", k)
		}
	}
	periodic()
	hourly := time.NewTicker(interval)
	defer hourly.Stop()
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hourly.C:
			periodic()
		case <-retry.C:
			if done, failed, err := n.archive.RetryIndex(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("indexing changes again failed; retried later", "indexed", done, "still_failing", failed, "err", err)
			} else if done > 0 {
				logger.Info("indexed changes the search indexes had failed to take", "documents", done)
			}
		}
	}
}

// retryEvery is how often the server retries the changes the search
// indexes failed to take.
const retryEvery = 30 * time.Second
