package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strings"
	"time"

	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

// Errors of the service. The API maps them to statuses; callers use
// errors.Is.
var (
	// ErrNotFound: no such document, or one the actor may not read —
	// the two are indistinguishable on purpose.
	ErrNotFound = errors.New("document not found")
	// ErrForbidden: the actor may read the document (or asked for no
	// document) but may not do this with it.
	ErrForbidden = errors.New("action not allowed")
	// ErrConflict: another writer changed the document first; reload and
	// try again.
	ErrConflict = errors.New("document changed concurrently")
	// ErrIntegrity: a stored object was altered, swapped or rolled back.
	// Nothing of it is returned.
	ErrIntegrity = errors.New("document failed its integrity check")
	// ErrAudit: the audit log could not record the action, so it was
	// refused (fail closed).
	ErrAudit = errors.New("audit log unavailable: action refused")
	// ErrInvalidRequest: the request itself is malformed (no content
	// type, the same level, a level change through UpdateMetadata, ...).
	ErrInvalidRequest = errors.New("invalid request")
)

// Config is what New needs. Store, Keys and Audit are required.
type Config struct {
	Store store.Store
	Keys  crypto.Wrapper
	Audit AuditSink
	// Index is told of every committed change; nil for none.
	Index Indexer
	Rules Rules
	// Suite seals content and metadata; zero means AES-256-GCM.
	Suite crypto.Suite
	// Clock and Rand default to time.Now and crypto/rand.
	Clock  func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Service is the archive: every method takes the acting user, checks the
// access policy, records an audit event durably, and only then acts.
type Service struct {
	store store.Store
	keys  crypto.Wrapper
	audit AuditSink
	index Indexer
	rules Rules
	suite crypto.Suite
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger

	// behind holds the documents whose last change the indexer did not
	// take (see RetryIndex).
	behind behindSet
}

// New returns a Service over cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Audit == nil {
		return nil, errors.New("archive: a store, a key wrapper and an audit sink are required")
	}
	s := &Service{
		store: cfg.Store, keys: cfg.Keys, audit: cfg.Audit, index: cfg.Index,
		rules: cfg.Rules, suite: cfg.Suite, now: cfg.Clock, rand: cfg.Rand, log: cfg.Logger,
	}
	if s.suite == 0 {
		s.suite = crypto.AES256GCM
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = randReader{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// state is a loaded document: its current revision and what opens it.
type state struct {
	doc Document
	gen uint32 // envelope generation
	rev uint32
}

// binding names version ver of id for crypto.
func binding(id ID, ver uint32) crypto.Binding { return crypto.Binding{DocID: id, Version: ver} }

// load reads the current revision of id. A missing document is
// ErrNotFound; anything altered is ErrIntegrity.
func (s *Service) load(ctx context.Context, id ID) (*state, error) {
	var last string
	for info, err := range s.store.List(ctx, docPrefix(id), "") {
		if err != nil {
			return nil, fmt.Errorf("archive: loading %s: %w", id, err)
		}
		switch {
		case info.Key == tombstoneKey(id):
			return nil, ErrNotFound // destroyed
		case strings.HasPrefix(info.Key, revPrefix(id)):
			last = info.Key
		}
	}
	if last == "" {
		return nil, ErrNotFound
	}
	rev, ok := parseNum(last[len(revPrefix(id)):])
	if !ok {
		return nil, fmt.Errorf("archive: %s: malformed revision key: %w", id, ErrIntegrity)
	}
	doc, h, err := s.openRevision(ctx, id, rev, 0, nil)
	if err != nil {
		return nil, err
	}
	return &state{doc: doc, gen: h.gen, rev: rev}, nil
}

// openRevision opens revision rev of id. gen, when not zero, is the current
// envelope generation to open it with (an old revision's own generation may
// have been deleted by a reclassification); zero uses the revision's own.
// The envelope that opens it must be bound to the document's current level:
// level, or, when nil, the level the revision itself records.
func (s *Service) openRevision(ctx context.Context, id ID, rev, gen uint32, level *access.Level) (Document, revHeader, error) {
	raw, err := s.readSmall(ctx, revKey(id, rev))
	if err != nil {
		return Document{}, revHeader{}, err
	}
	h, sealed, ok := parseRevHeader(raw)
	if !ok {
		return Document{}, revHeader{}, fmt.Errorf("archive: %s revision %d: %w", id, rev, ErrIntegrity)
	}
	if gen == 0 {
		gen = h.gen
	}
	dk, envLevel, err := s.dataKey(ctx, id, h.ver, gen)
	if err != nil {
		return Document{}, revHeader{}, err
	}
	defer dk.Destroy()
	plain, err := crypto.OpenMetadata(dk, revAD(id, rev, raw[:revHeaderSize]), sealed)
	if err != nil {
		return Document{}, revHeader{}, fmt.Errorf("archive: %s revision %d: %w", id, rev, ErrIntegrity)
	}
	var doc Document
	if err := json.Unmarshal(plain, &doc); err != nil {
		return Document{}, revHeader{}, fmt.Errorf("archive: %s revision %d: %w", id, rev, ErrIntegrity)
	}
	// The sealed document must agree with where it was found and with the
	// envelope that opened it: an old envelope of another level put back
	// in place opens, but names the wrong level.
	want := doc.Level
	if level != nil {
		want = *level
	}
	if doc.ID != id || doc.Revision != rev || doc.Version != h.ver || envLevel != want {
		return Document{}, revHeader{}, fmt.Errorf("archive: %s revision %d does not match its place: %w", id, rev, ErrIntegrity)
	}
	return doc, h, nil
}

// dataKey unwraps the data key of version ver from envelope generation gen,
// and returns the level the envelope is bound to.
func (s *Service) dataKey(ctx context.Context, id ID, ver, gen uint32) (*crypto.DataKey, access.Level, error) {
	env, err := s.readSmall(ctx, envKey(id, ver, gen))
	if err != nil {
		return nil, 0, err
	}
	info, err := crypto.ParseEnvelope(env)
	if err != nil {
		return nil, 0, fmt.Errorf("archive: %s version %d envelope: %w", id, ver, ErrIntegrity)
	}
	dk, err := s.keys.Unwrap(env, info.Level, binding(id, ver))
	if err != nil {
		if errors.Is(err, crypto.ErrIntegrity) {
			return nil, 0, fmt.Errorf("archive: %s version %d envelope: %w", id, ver, ErrIntegrity)
		}
		return nil, 0, fmt.Errorf("archive: %s version %d envelope: %w", id, ver, err)
	}
	return dk, access.Level(info.Level), nil
}

// maxSmallObject bounds what readSmall accepts: revisions and envelopes are
// small, and an oversized one is not ours.
const maxSmallObject = 4 << 20

func (s *Service) readSmall(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := s.store.Get(ctx, key, nil)
	if errors.Is(err, store.ErrNotExist) {
		// A committed revision names its envelope and version: one that
		// is missing was removed behind our back.
		return nil, fmt.Errorf("archive: %s is missing: %w", key, ErrIntegrity)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: reading %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSmallObject+1))
	if err != nil {
		return nil, fmt.Errorf("archive: reading %s: %w", key, err)
	}
	if len(b) > maxSmallObject {
		return nil, fmt.Errorf("archive: %s is oversized: %w", key, ErrIntegrity)
	}
	return b, nil
}

// record writes an audit event and fails closed.
func (s *Service) record(ctx context.Context, a Actor, e AuditEvent) error {
	e.Time = s.now().UTC()
	e.Actor = a.Subject.ID
	e.Roles = a.Subject.Roles
	e.Clearance = a.Subject.Clearance
	e.OrgUnit = a.Subject.OrgUnit
	e.ClientIP = a.ClientAddr
	e.Request = a.RequestID
	if err := s.audit.Record(ctx, e); err != nil {
		s.log.Error("audit record failed; action refused", "request_id", a.RequestID, "user", a.Subject.ID, "err", err)
		return fmt.Errorf("%w: %v", ErrAudit, err)
	}
	return nil
}

// failed records that an allowed action did not complete. The action
// changed nothing visible, so a failure to record it is only logged.
func (s *Service) failed(ctx context.Context, a Actor, e AuditEvent, cause error) {
	e.Outcome = Failed
	e.Reason = failureReason(cause)
	if err := s.record(context.WithoutCancel(ctx), a, e); err != nil {
		s.log.Error("recording a failed action", "request_id", a.RequestID, "err", err)
	}
}

func failureReason(err error) string {
	switch {
	case errors.Is(err, ErrIntegrity):
		return "integrity"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case errors.Is(err, store.ErrUnavailable):
		return "store_unavailable"
	case errors.Is(err, ErrInvalidMetadata), errors.Is(err, ErrInvalidRequest):
		return "invalid"
	}
	return "error"
}

// authorize decides action on the loaded document and records the decision.
// A denied actor who may not even read the document gets ErrNotFound; one
// who may read it gets ErrForbidden.
func (s *Service) authorize(ctx context.Context, a Actor, act access.Action, st *state, res access.Resource, e AuditEvent) error {
	d := access.Decide(a.Subject, act, res)
	e.Action = act.String()
	e.Object = st.doc.ID.String()
	e.Level = st.doc.Level
	e.Reason = string(d.Reason)
	if !d.Allow {
		e.Outcome = Denied
		if err := s.record(ctx, a, e); err != nil {
			return err
		}
		if access.Decide(a.Subject, access.ViewMetadata, st.doc.Resource()).Allow {
			return fmt.Errorf("archive: %s: %w (%s)", act, ErrForbidden, d.Reason)
		}
		return ErrNotFound
	}
	e.Outcome = Allowed
	return s.record(ctx, a, e)
}

// loadFor loads id and authorizes act on it; a missing document is audited
// as denied, exactly as one the actor may not read.
func (s *Service) loadFor(ctx context.Context, a Actor, act access.Action, id ID, res func(*state) access.Resource) (*state, error) {
	st, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		if rerr := s.record(ctx, a, AuditEvent{Action: act.String(), Object: id.String(), Outcome: Denied, Reason: "not_found"}); rerr != nil {
			return nil, rerr
		}
		return nil, ErrNotFound
	}
	if err != nil {
		s.failed(ctx, a, AuditEvent{Action: act.String(), Object: id.String()}, err)
		return nil, err
	}
	r := st.doc.Resource()
	if res != nil {
		r = res(st)
	}
	if err := s.authorize(ctx, a, act, st, r, AuditEvent{}); err != nil {
		return nil, err
	}
	return st, nil
}

// Get returns the current metadata of a document the actor may read.
func (s *Service) Get(ctx context.Context, a Actor, id ID) (Document, error) {
	st, err := s.loadFor(ctx, a, access.ViewMetadata, id, nil)
	if err != nil {
		return Document{}, err
	}
	return st.doc, nil
}

// Revisions returns every metadata revision of a document, oldest first.
func (s *Service) Revisions(ctx context.Context, a Actor, id ID) ([]Document, error) {
	st, err := s.loadFor(ctx, a, access.ViewMetadata, id, nil)
	if err != nil {
		return nil, err
	}
	docs := make([]Document, 0, st.rev)
	for rev := uint32(1); rev <= st.rev; rev++ {
		doc, _, err := s.openRevision(ctx, id, rev, st.gen, &st.doc.Level)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// Content is an opened document version.
type Content struct {
	io.ReadCloser
	Doc Document // the version's metadata as committed with it
	// Offset and Length describe the bytes the reader yields (the whole
	// version when no range was asked).
	Offset, Length int64
}

// WriteTo writes the content to w, without an intermediate buffer where
// the reader allows it (a pipelined full read does); io.Copy uses it.
func (c *Content) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.ReadCloser.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, struct{ io.Reader }{c.ReadCloser})
}

// OpenOptions selects what Open reads.
type OpenOptions struct {
	// Version to read; 0 for the current one.
	Version uint32
	// Range, when set, reads only those plaintext bytes.
	Range *store.Range
	// Download marks the read as a copy taken out of the archive (access
	// Download), rather than a view (access Read).
	Download bool
}

// Open opens a document's content. A full read verifies the SHA-256 of the
// plaintext at the end and fails with ErrIntegrity on a mismatch, before
// the reader reports EOF.
func (s *Service) Open(ctx context.Context, a Actor, id ID, opts OpenOptions) (*Content, error) {
	act, res := access.Read, (func(*state) access.Resource)(nil)
	if opts.Download {
		act, res = access.Download, s.downloadResource(a)
	}
	st, err := s.loadFor(ctx, a, act, id, res)
	if err != nil {
		return nil, err
	}
	ev := AuditEvent{Action: act.String(), Object: id.String(), Level: st.doc.Level}
	if opts.Download && st.doc.Level.Classified() {
		// A download of a classified document is a copy: it enters the
		// copy register before a byte goes out.
		ver := opts.Version
		if ver == 0 {
			ver = st.doc.Version
		}
		if err := s.registerCopy(ctx, a, st, ver); err != nil {
			s.failed(ctx, a, ev, err)
			return nil, err
		}
	}
	doc := st.doc
	if opts.Version != 0 && opts.Version != doc.Version {
		doc, err = s.versionDoc(ctx, st, opts.Version)
		if err != nil {
			s.failed(ctx, a, ev, err)
			return nil, err
		}
	}
	c, err := s.openContent(ctx, st.gen, st.doc.Level, doc, opts.Range)
	if err != nil {
		s.failed(ctx, a, ev, err)
		return nil, err
	}
	return c, nil
}

// versionDoc finds the latest revision that committed version ver.
func (s *Service) versionDoc(ctx context.Context, st *state, ver uint32) (Document, error) {
	if ver > st.doc.Version {
		return Document{}, ErrNotFound
	}
	for rev := st.rev; rev >= 1; rev-- {
		doc, _, err := s.openRevision(ctx, st.doc.ID, rev, st.gen, &st.doc.Level)
		if err != nil {
			return Document{}, err
		}
		if doc.Version == ver {
			// Metadata of an old version describes that version's
			// content; the level and markings are the current ones.
			doc.Metadata = st.doc.Metadata
			return doc, nil
		}
	}
	return Document{}, ErrNotFound
}

// openContent opens the content of doc's version with envelope generation
// gen, whose envelope must be bound to level, the document's current level.
func (s *Service) openContent(ctx context.Context, gen uint32, level access.Level, doc Document, rng *store.Range) (*Content, error) {
	dk, envLevel, err := s.dataKey(ctx, doc.ID, doc.Version, gen)
	if err != nil {
		return nil, err
	}
	if envLevel != level {
		dk.Destroy()
		return nil, fmt.Errorf("archive: %s version %d: envelope of level %v, document at %v: %w", doc.ID, doc.Version, envLevel, level, ErrIntegrity)
	}
	b := binding(doc.ID, doc.Version)
	key := blobKey(doc.ID, doc.Version)
	if rng == nil {
		defer dk.Destroy()
		rc, _, err := s.store.Get(ctx, key, nil)
		if err != nil {
			return nil, s.blobError(key, err)
		}
		plain, err := crypto.NewDecryptReader(rc, dk, b)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("archive: %s: %w", key, ErrIntegrity)
		}
		return &Content{ReadCloser: verified(plain, rc, doc.SHA256, doc.Size), Doc: doc, Offset: 0, Length: doc.Size}, nil
	}

	info, err := s.store.Stat(ctx, key)
	if err != nil {
		dk.Destroy()
		return nil, s.blobError(key, err)
	}
	src := &storeReaderAt{ctx: ctx, store: s.store, key: key}
	rr, err := crypto.OpenRange(src, info.Size, dk, b)
	dk.Destroy()
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", key, ErrIntegrity)
	}
	if rr.Size() != doc.Size {
		return nil, fmt.Errorf("archive: %s has %d bytes, its metadata %d: %w", key, rr.Size(), doc.Size, ErrIntegrity)
	}
	off := min(rng.Offset, doc.Size)
	n := doc.Size - off
	if rng.Length >= 0 {
		n = min(n, rng.Length)
	}
	sec, err := rr.Section(off, n)
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", key, err)
	}
	return &Content{ReadCloser: io.NopCloser(integrityReader{sec}), Doc: doc, Offset: off, Length: n}, nil
}

func (s *Service) blobError(key string, err error) error {
	if errors.Is(err, store.ErrNotExist) {
		return fmt.Errorf("archive: %s is missing: %w", key, ErrIntegrity)
	}
	return fmt.Errorf("archive: reading %s: %w", key, err)
}

// verified reads plain, the decrypting reader over body, to the end,
// checking its size and SHA-256 before it reports EOF; Close closes body.
// Large content is read by a pipeline (pipeline.go), small by one goroutine.
func verified(plain io.Reader, body io.Closer, want Digest, size int64) io.ReadCloser {
	if size >= pipelineMin {
		return newPipelined(plain, body, want, size)
	}
	return readCloser{&verifying{r: plain, h: sha256.New(), want: want, size: size}, body}
}

// verifying checks the size and SHA-256 of a full read before it reports
// EOF, so a caller never mistakes altered content for the end of the data.
type verifying struct {
	r    io.Reader
	h    hash.Hash
	want Digest
	size int64
	n    int64
	err  error
}

func (v *verifying) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		var got Digest
		v.h.Sum(got[:0])
		if v.n != v.size || got != v.want {
			err = fmt.Errorf("archive: content digest mismatch: %w", ErrIntegrity)
		}
	} else if err != nil && errors.Is(err, crypto.ErrIntegrity) {
		err = fmt.Errorf("archive: content: %w", ErrIntegrity)
	}
	v.err = err
	return n, err
}

// integrityReader maps crypto's integrity error to the archive's.
type integrityReader struct{ r io.Reader }

func (i integrityReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if err != nil && errors.Is(err, crypto.ErrIntegrity) {
		err = fmt.Errorf("archive: content: %w", ErrIntegrity)
	}
	return n, err
}

// storeReaderAt reads ciphertext ranges from the store for crypto.OpenRange,
// one ranged GET per ReadAt. The context is the request's, held only for
// the life of one Open.
type storeReaderAt struct {
	ctx   context.Context
	store store.Store
	key   string
}

func (r *storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rc, _, err := r.store.Get(r.ctx, r.key, &store.Range{Offset: off, Length: int64(len(p))})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if err == io.ErrUnexpectedEOF || (err == io.EOF && n < len(p)) {
		err = io.EOF
	}
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// sealRevision seals doc as revision doc.Revision, sealed under dk (the data
// key of doc.Version), with envelope generation gen.
func (s *Service) sealRevision(dk *crypto.DataKey, doc *Document, gen uint32) ([]byte, error) {
	plain, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("archive: encoding metadata: %w", err)
	}
	header := revHeader{ver: doc.Version, gen: gen}.marshal()
	sealed, err := crypto.SealMetadata(dk, s.suite, revAD(doc.ID, doc.Revision, header), plain, s.rand)
	if err != nil {
		return nil, fmt.Errorf("archive: sealing metadata: %w", err)
	}
	return append(header, sealed...), nil
}

// commit creates revision doc.Revision: the commit point of every change.
func (s *Service) commit(ctx context.Context, doc *Document, sealed []byte) error {
	_, err := s.store.Put(ctx, revKey(doc.ID, doc.Revision), bytes.NewReader(sealed), store.PutOptions{IfAbsent: true})
	if errors.Is(err, store.ErrExist) {
		return fmt.Errorf("archive: %s revision %d: %w", doc.ID, doc.Revision, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("archive: committing %s: %w", doc.ID, err)
	}
	return nil
}

// removeQuietly deletes objects of a change that did not commit.
func (s *Service) removeQuietly(ctx context.Context, keys ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		if err := s.store.Delete(ctx, k, store.DeleteOptions{AllVersions: true}); err != nil {
			s.log.Warn("removing debris of an uncommitted change; the sweep will retry", "key", k, "err", err)
		}
	}
}
