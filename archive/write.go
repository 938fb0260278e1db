package archive

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"strings"
	"time"

	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

// randReader reads from crypto/rand.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptorand.Read(p) }

// Upload is new content: the bytes and their media type.
type Upload struct {
	Content     io.Reader
	ContentType string
}

func (u Upload) check() error {
	switch {
	case u.Content == nil:
		return fmt.Errorf("archive: %w: no content", ErrInvalidRequest)
	case u.ContentType == "" || len(u.ContentType) > MaxContentTypeLen:
		return fmt.Errorf("archive: %w: content type missing or too long", ErrInvalidRequest)
	}
	if _, _, err := mime.ParseMediaType(u.ContentType); err != nil {
		return fmt.Errorf("archive: %w: content type %q is malformed", ErrInvalidRequest, truncate(u.ContentType))
	}
	return nil
}

// Create stores a new document: its content is encrypted under a fresh data
// key as it streams to the blob, the data key is wrapped under the level's
// KEK into the envelope, and the sealed metadata is committed last. If
// anything fails, nothing becomes visible, and what was written is removed
// (or swept later, after a crash).
func (s *Service) Create(ctx context.Context, a Actor, m Metadata, up Upload) (Document, error) {
	m.Normalize()
	ev := AuditEvent{Action: access.Create.String(), Level: m.Level}
	if err := up.check(); err != nil {
		return Document{}, err
	}
	if err := m.Validate(s.now(), s.rules); err != nil {
		return Document{}, err
	}
	d := access.Decide(a.Subject, access.Create, m.Resource())
	ev.Reason = string(d.Reason)
	if !d.Allow {
		ev.Outcome = Denied
		if err := s.record(ctx, a, ev); err != nil {
			return Document{}, err
		}
		return Document{}, fmt.Errorf("archive: create: %w (%s)", ErrForbidden, d.Reason)
	}
	id, err := NewID(s.rand)
	if err != nil {
		return Document{}, err
	}
	ev.Object, ev.Version, ev.Outcome = id.String(), 1, Allowed
	if err := s.record(ctx, a, ev); err != nil {
		return Document{}, err
	}
	now := s.now().UTC()
	doc := Document{
		ID: id, Version: 1, Revision: 1, ContentType: up.ContentType,
		CreatedBy: a.Subject.ID, CreatedAt: now, Metadata: m,
	}
	const gen = 1
	if err := s.writeVersion(ctx, &doc, gen, up.Content); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	s.indexDoc(ctx, doc, gen)
	return doc, nil
}

// writeVersion writes the blob and envelope of doc.Version, then commits
// revision doc.Revision, filling in doc's size and digest. On failure it
// removes what it wrote.
func (s *Service) writeVersion(ctx context.Context, doc *Document, gen uint32, content io.Reader) (err error) {
	dk, err := crypto.NewDataKey(s.rand)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer dk.Destroy()
	b := binding(doc.ID, doc.Version)
	blob, env := blobKey(doc.ID, doc.Version), envKey(doc.ID, doc.Version, gen)
	defer func() {
		if err != nil {
			s.removeQuietly(ctx, blob, env)
		}
	}()

	size, digest, err := s.putEncrypted(ctx, blob, dk, b, content)
	if err != nil {
		return err
	}
	doc.Size, doc.SHA256 = size, digest
	if err := doc.Validate(s.now(), s.rules); err != nil {
		return err
	}
	wrapped, err := s.keys.Wrap(crypto.Level(doc.Level), dk, b)
	if err != nil {
		return fmt.Errorf("archive: wrapping the data key: %w", err)
	}
	if _, err := s.store.Put(ctx, env, bytes.NewReader(wrapped), store.PutOptions{IfAbsent: true}); err != nil {
		if errors.Is(err, store.ErrExist) {
			return fmt.Errorf("archive: %s: %w", env, ErrConflict)
		}
		return fmt.Errorf("archive: writing %s: %w", env, err)
	}
	sealed, err := s.sealRevision(dk, doc, gen)
	if err != nil {
		return err
	}
	return s.commit(ctx, doc, sealed)
}

// putEncrypted streams content through the encrypting writer into the
// store, hashing the plaintext on the way. Memory stays bounded: a pipe
// joins the writer to the store's streaming Put.
func (s *Service) putEncrypted(ctx context.Context, key string, dk *crypto.DataKey, b crypto.Binding, content io.Reader) (int64, Digest, error) {
	pr, pw := io.Pipe()
	h := sha256.New()
	var size int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc, err := crypto.NewEncryptWriter(pw, dk, b, s.suite, s.rand)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		n, err := io.Copy(enc, io.TeeReader(content, h))
		size = n
		if err != nil {
			pw.CloseWithError(fmt.Errorf("reading the upload: %w", err))
			return
		}
		pw.CloseWithError(enc.Close())
	}()
	_, err := s.store.Put(ctx, key, pr, store.PutOptions{IfAbsent: true})
	pr.CloseWithError(errAborted) // stops the writer if Put gave up early
	<-done
	if err != nil {
		if errors.Is(err, store.ErrExist) {
			err = ErrConflict
		}
		return 0, Digest{}, fmt.Errorf("archive: writing %s: %w", key, err)
	}
	var d Digest
	h.Sum(d[:0])
	return size, d, nil
}

var errAborted = errors.New("upload aborted")

// AddVersion stores new content as the next version of a document. The
// metadata carries over; the new revision records the new version's size
// and digest.
func (s *Service) AddVersion(ctx context.Context, a Actor, id ID, up Upload) (Document, error) {
	if err := up.check(); err != nil {
		return Document{}, err
	}
	st, err := s.loadFor(ctx, a, access.AddVersion, id, nil)
	if err != nil {
		return Document{}, err
	}
	doc := st.doc
	doc.Version++
	doc.Revision = st.rev + 1
	doc.ContentType = up.ContentType
	doc.UpdatedBy, doc.UpdatedAt = a.Subject.ID, s.now().UTC()
	ev := AuditEvent{Action: access.AddVersion.String(), Object: id.String(), Version: doc.Version, Level: doc.Level}
	if err := s.writeVersion(ctx, &doc, st.gen, up.Content); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	s.indexDoc(ctx, doc, st.gen)
	return doc, nil
}

// UpdateMetadata writes a new metadata revision; the old ones are kept.
// The level cannot change here (see Reclassify). expectedRev, when not zero,
// must be the current revision (optimistic concurrency for editors).
func (s *Service) UpdateMetadata(ctx context.Context, a Actor, id ID, m Metadata, expectedRev uint32) (Document, error) {
	m.Normalize()
	st, err := s.loadFor(ctx, a, access.UpdateMetadata, id, nil)
	if err != nil {
		return Document{}, err
	}
	ev := AuditEvent{Action: access.UpdateMetadata.String(), Object: id.String(), Version: st.doc.Version, Level: st.doc.Level}
	if expectedRev != 0 && expectedRev != st.rev {
		s.failed(ctx, a, ev, ErrConflict)
		return Document{}, fmt.Errorf("archive: %s is at revision %d, not %d: %w", id, st.rev, expectedRev, ErrConflict)
	}
	if m.Level != st.doc.Level {
		err := fmt.Errorf("archive: %w: the level changes only by reclassification", ErrInvalidRequest)
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	// A shorter period declassifies earlier and a longer one extends it:
	// both are the competent person's decisions (Reclassify,
	// ExtendProtection), not corrections of the record.
	if m.Protection != st.doc.Protection {
		err := fmt.Errorf("archive: %w: the protection period changes only by extension or reclassification", ErrInvalidRequest)
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	// Widening who may read (dropping compartments or named recipients)
	// is checked as the new state: the archivist must be able to read the
	// result too.
	if d := access.Decide(a.Subject, access.UpdateMetadata, m.Resource()); !d.Allow {
		ev.Outcome, ev.Reason = Denied, string(d.Reason)
		if err := s.record(ctx, a, ev); err != nil {
			return Document{}, err
		}
		return Document{}, fmt.Errorf("archive: update: %w (%s)", ErrForbidden, d.Reason)
	}
	doc := st.doc
	doc.Metadata = m
	doc.Revision = st.rev + 1
	doc.UpdatedBy, doc.UpdatedAt = a.Subject.ID, s.now().UTC()
	if err := doc.Validate(s.now(), s.rules); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	if err := s.commitRevision(ctx, &doc, st.gen); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	s.indexDoc(ctx, doc, st.gen)
	return doc, nil
}

// commitRevision seals doc under the data key of its current version (from
// envelope generation gen) and commits it.
func (s *Service) commitRevision(ctx context.Context, doc *Document, gen uint32) error {
	dk, _, err := s.dataKey(ctx, doc.ID, doc.Version, gen)
	if err != nil {
		return err
	}
	defer dk.Destroy()
	sealed, err := s.sealRevision(dk, doc, gen)
	if err != nil {
		return err
	}
	return s.commit(ctx, doc, sealed)
}

// Reclassification is a change of level with its grounds.
type Reclassification struct {
	To          access.Level
	Reason      string
	DecisionRef string
	// StateSecretRef is the entry of the list of state secrets the new
	// level rests on; required when the new level is classified and the
	// document has none yet, and replaces the old one when given.
	StateSecretRef string
	// ProtectionYears is the protection period the decision sets for the
	// new level; zero for the level's default.
	ProtectionYears int
}

// Reclassify changes a document's level: raising it (archivist or security
// officer) or lowering or declassifying it (security officer). Every
// version's data key is rewrapped under the new level's KEK as a new
// envelope generation; the revision that records the new level and the
// history entry commits the change; the old generation is then destroyed,
// so no key of the old level opens the document afterwards. The content is
// not touched.
func (s *Service) Reclassify(ctx context.Context, a Actor, id ID, r Reclassification) (Document, error) {
	if !r.To.Valid() {
		return Document{}, fmt.Errorf("archive: %w: unknown level", ErrInvalidRequest)
	}
	st, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		if rerr := s.record(ctx, a, AuditEvent{Action: access.RaiseLevel.String(), Object: id.String(), Outcome: Denied, Reason: "not_found"}); rerr != nil {
			return Document{}, rerr
		}
		return Document{}, ErrNotFound
	}
	if err != nil {
		return Document{}, err
	}
	from := st.doc.Level
	act := access.RaiseLevel
	switch {
	case r.To < from:
		act = access.LowerLevel
	case r.To == from:
		if !access.Decide(a.Subject, access.ViewMetadata, st.doc.Resource()).Allow {
			return Document{}, ErrNotFound
		}
		return Document{}, fmt.Errorf("archive: %w: the document is already at that level", ErrInvalidRequest)
	}
	res := st.doc.Resource()
	res.Target = r.To
	ev := AuditEvent{Version: st.doc.Version, Target: r.To}
	if err := s.authorize(ctx, a, act, st, res, ev); err != nil {
		return Document{}, err
	}
	ev.Action, ev.Object, ev.Level = act.String(), id.String(), from
	now := s.now().UTC()
	return s.changeLevel(ctx, a, st, ev, ClassificationChange{
		At: now, By: a.Subject.ID, From: from, To: r.To, Reason: r.Reason, DecisionRef: r.DecisionRef,
	}, r)
}

// changeLevel moves an authorized document to change.To: every version's
// data key is rewrapped under the new level's KEK as a new envelope
// generation, the revision recording the change commits it, and the old
// generation is destroyed.
func (s *Service) changeLevel(ctx context.Context, a Actor, st *state, ev AuditEvent, change ClassificationChange, r Reclassification) (Document, error) {
	id, from, now := st.doc.ID, st.doc.Level, change.At
	doc := st.doc
	doc.Revision = st.rev + 1
	doc.Level = change.To
	doc.UpdatedBy, doc.UpdatedAt = a.Subject.ID, now
	doc.History = append(doc.History[:len(doc.History):len(doc.History)], change)
	// A change of level starts a new protection period from the date of
	// the decision; declassified documents have none.
	doc.Protection = Protection{}
	if change.To.Classified() {
		doc.Protection = Protection{Years: r.ProtectionYears, Since: s.rules.Today(now)}
	}
	if r.StateSecretRef != "" {
		doc.StateSecretRef = r.StateSecretRef
	}
	if err := doc.Validate(now, s.rules); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	newGen := doc.Revision
	var written []string
	fail := func(err error) (Document, error) {
		s.removeQuietly(ctx, written...)
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	for ver := uint32(1); ver <= doc.Version; ver++ {
		env, err := s.readSmall(ctx, envKey(id, ver, st.gen))
		if err != nil {
			return fail(err)
		}
		rewrapped, err := crypto.Rewrap(s.keys, env, crypto.Level(from), binding(id, ver), crypto.Level(change.To))
		if err != nil {
			return fail(fmt.Errorf("archive: rewrapping %s version %d: %w", id, ver, ErrIntegrity))
		}
		key := envKey(id, ver, newGen)
		if _, err := s.store.Put(ctx, key, bytes.NewReader(rewrapped), store.PutOptions{}); err != nil {
			return fail(fmt.Errorf("archive: writing %s: %w", key, err))
		}
		written = append(written, key)
	}
	if err := s.commitRevision(ctx, &doc, newGen); err != nil {
		return fail(err)
	}
	// Committed. Destroy the old generation: until this is done (or the
	// sweep does it after a crash), the old level's key still opens it.
	for ver := uint32(1); ver <= doc.Version; ver++ {
		s.removeQuietly(ctx, envKey(id, ver, st.gen))
	}
	s.indexDoc(ctx, doc, newGen)
	return doc, nil
}

// SystemID is the actor id of what the archive does by itself, on no
// user's behalf (automatic declassification).
const SystemID = "system"

// DeclassifyExpired declassifies every document whose protection period has
// ended (giải mật đương nhiên): its level becomes unclassified, with an
// automatic history entry and no decision, and its data keys are rewrapped
// under the unclassified KEK. Each is audited as a lower_level by the
// system. It returns how many documents it declassified; run it daily.
func (s *Service) DeclassifyExpired(ctx context.Context) (int, error) {
	today := s.rules.Today(s.now())
	n := 0
	for id, err := range s.ids(ctx) {
		if err != nil {
			return n, err
		}
		st, err := s.load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			s.log.Warn("declassification pass: document does not load; left alone", "doc_id", id.String(), "err", err)
			continue
		}
		end, ok := st.doc.ProtectionEnd(s.rules)
		if !st.doc.Level.Classified() || !ok || today.Before(end) {
			continue
		}
		ev := AuditEvent{
			Action: access.LowerLevel.String(), Object: id.String(), Version: st.doc.Version,
			Level: st.doc.Level, Target: access.Unclassified, Outcome: Allowed, Reason: "protection_expired",
		}
		system := Actor{Subject: access.Subject{ID: SystemID}}
		if err := s.record(ctx, system, ev); err != nil {
			return n, err
		}
		change := ClassificationChange{
			At: s.now().UTC(), From: st.doc.Level, To: access.Unclassified, Automatic: true,
			Reason: fmt.Sprintf("protection period ended %s", end),
		}
		if _, err := s.changeLevel(ctx, system, st, ev, change, Reclassification{}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// List yields the current metadata of every document the actor may read,
// in ID order. Documents the actor may not read are skipped silently: they
// do not exist for the actor. It reads the store, not the index, for
// rebuilding indexes and for administration; people search instead.
func (s *Service) List(ctx context.Context, a Actor) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		if d := access.Decide(a.Subject, access.List, access.Resource{}); !d.Allow {
			yield(Document{}, fmt.Errorf("archive: list: %w (%s)", ErrForbidden, d.Reason))
			return
		}
		for id, err := range s.ids(ctx) {
			if err != nil {
				yield(Document{}, err)
				return
			}
			st, err := s.load(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue // debris of an interrupted create
			}
			if err != nil {
				if !yield(Document{}, err) {
					return
				}
				continue
			}
			if !access.Decide(a.Subject, access.ViewMetadata, st.doc.Resource()).Allow {
				continue
			}
			if !yield(st.doc, nil) {
				return
			}
		}
	}
}

// ids yields the IDs of every document with objects in the store, in order.
// It walks one listing of docs/, skipping the further keys of a document,
// so a pass over all documents costs one listing, not one per document.
func (s *Service) ids(ctx context.Context) iter.Seq2[ID, error] {
	return func(yield func(ID, error) bool) {
		var last ID
		seen := false
		for info, err := range s.store.List(ctx, docsPrefix, "") {
			if err != nil {
				yield(ID{}, err)
				return
			}
			id, _, ok := docKey(info.Key)
			if !ok || (seen && id == last) {
				continue
			}
			last, seen = id, true
			if !yield(id, nil) {
				return
			}
		}
	}
}

// SweepStats counts what a sweep removed.
type SweepStats struct {
	Documents int // documents examined
	Removed   int // objects removed
}

// Sweep removes the debris of interrupted changes: objects of documents that
// never committed, blobs and envelopes of versions that never committed,
// envelope generations left behind by a reclassification, and whatever an
// interrupted destruction left beside its tombstone. Objects younger
// than grace are left alone, as an upload may still be writing them. It
// runs at start and on demand; it is not audited per object (it removes
// nothing that was ever visible) and reads no content.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (SweepStats, error) {
	var stats SweepStats
	cutoff := s.now().Add(-grace)
	for id, err := range s.ids(ctx) {
		if err != nil {
			return stats, err
		}
		stats.Documents++
		st, err := s.load(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.log.Warn("sweep: document does not load; left alone", "doc_id", id.String(), "err", err)
			continue
		}
		// A destroyed document's leftovers go whatever their age.
		destroyed := false
		if st == nil {
			if _, err := s.store.Stat(ctx, tombstoneKey(id)); err == nil {
				destroyed = true
			}
		}
		for info, err := range s.store.List(ctx, docPrefix(id), "") {
			if err != nil {
				return stats, err
			}
			switch {
			case info.Key == tombstoneKey(id):
				continue
			case destroyed:
			case info.ModTime.After(cutoff) || (st != nil && st.keeps(info.Key)):
				continue
			}
			if err := s.store.Delete(ctx, info.Key, store.DeleteOptions{AllVersions: true}); err != nil {
				return stats, fmt.Errorf("archive: sweep: %w", err)
			}
			stats.Removed++
		}
	}
	return stats, nil
}

// keeps reports whether key belongs to the committed document.
func (st *state) keeps(key string) bool {
	_, rest, ok := docKey(key)
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "rev/") {
		return true
	}
	verText, rest, ok := strings.Cut(rest, "/")
	ver, vok := parseNum(verText)
	if !ok || !vok || ver == 0 || ver > st.doc.Version {
		return false
	}
	if rest == "blob" {
		return true
	}
	gen, ok := strings.CutPrefix(rest, "env/")
	g, gok := parseNum(gen)
	return ok && gok && g == st.gen
}
