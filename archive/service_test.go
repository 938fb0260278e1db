package archive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/crypto"
)

// recorder is the audit sink of the tests: it keeps every event and can be
// made to fail, to show that the service fails closed.
type recorder struct {
	mu     sync.Mutex
	events []archive.AuditEvent
	fail   error
}

func (r *recorder) Record(_ context.Context, e archive.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) find(action string, outcome archive.Outcome, actor string) []archive.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []archive.AuditEvent
	for _, e := range r.events {
		if e.Action == action && e.Outcome == outcome && e.Actor == actor {
			out = append(out, e)
		}
	}
	return out
}

// indexer records what the service asks to index, reading the content as a
// real indexer would.
type indexer struct {
	mu      sync.Mutex
	indexed map[archive.ID][]byte
	// fail, when set, is called first by Index and Remove; an error it
	// returns is theirs (a fault injected).
	fail func(ctx context.Context) error
}

func (x *indexer) failure(ctx context.Context) error {
	x.mu.Lock()
	fail := x.fail
	x.mu.Unlock()
	if fail != nil {
		return fail(ctx)
	}
	return nil
}

func (x *indexer) setFail(fail func(ctx context.Context) error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.fail = fail
}

func (x *indexer) has(id archive.ID) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.indexed[id]
	return ok
}

func (x *indexer) Index(ctx context.Context, doc archive.Document, open func(context.Context) (io.ReadCloser, error)) error {
	if err := x.failure(ctx); err != nil {
		return err
	}
	rc, err := open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.indexed[doc.ID] = b
	return nil
}

func (x *indexer) Remove(ctx context.Context, id archive.ID) error {
	if err := x.failure(ctx); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.indexed, id)
	return nil
}

type fixture struct {
	keys  *crypto.Keyring
	svc   *archive.Service
	store store.Store
	audit *recorder
	index *indexer
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	keys, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: keys, store: st, audit: &recorder{}, index: &indexer{indexed: map[archive.ID][]byte{}}}
	f.svc, err = archive.New(archive.Config{Store: st, Keys: keys, Audit: f.audit, Index: f.index})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// eachStore runs fn against the folder backend and the real MinIO.
func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("folder", func(t *testing.T) {
		st, err := store.OpenFolder(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, newFixture(t, st))
	})
	t.Run("s3", func(t *testing.T) {
		fn(t, newFixture(t, storetest.NewS3(t, false)))
	})
}

func actor(id string, clearance access.Level, roles ...access.Role) archive.Actor {
	return archive.Actor{
		Subject:    access.Subject{ID: id, Roles: roles, Clearance: clearance},
		ClientAddr: "127.0.0.1", RequestID: "req-" + id,
	}
}

var (
	archivist = actor("archivist", access.TopSecret, access.Archivist)
	officer   = actor("officer", access.TopSecret, access.SecurityOfficer)
	cadreMat  = actor("cadre-mat", access.Confidential, access.Reader)
	cadreToi  = actor("cadre-toi", access.Secret, access.Reader)
	auditor   = actor("auditor", access.TopSecret, access.Auditor)
)

const secretTitle = "Nghị quyết về công tác bảo vệ bí mật nhà nước"

func meta(level access.Level) archive.Metadata {
	m := archive.Metadata{
		IssuingBody:  "Văn phòng Trung ương Đảng",
		NumberSymbol: "15-NQ/TW",
		DateIssued:   archive.Date{Year: 2025, Month: 3, Day: 14},
		Type:         archive.DocType("nghi_quyet"),
		Title:        secretTitle,
		Level:        level,
	}
	if level.Classified() {
		m.StateSecretRef = "Danh mục BMNN, mục 3"
	}
	return m
}

func upload(b []byte) archive.Upload {
	return archive.Upload{Content: bytes.NewReader(b), ContentType: "application/pdf"}
}

func readAll(t *testing.T, c *archive.Content) []byte {
	t.Helper()
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading content: %v", err)
	}
	return b
}

func TestCreateOpen(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		for _, n := range []int{0, 1, 65535, 65536, 65537, 3<<20 + 11} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				content := storetest.Data(uint64(n), n)
				doc, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload(content))
				if err != nil {
					t.Fatal(err)
				}
				if doc.Size != int64(n) || doc.SHA256 != archive.Digest(sha256.Sum256(content)) || doc.Version != 1 || doc.Revision != 1 {
					t.Fatalf("created %+v", doc)
				}
				got, err := f.svc.Get(ctx, cadreToi, doc.ID)
				if err != nil || got.Title != secretTitle || got.CreatedBy != "archivist" {
					t.Fatalf("Get = %+v, %v", got, err)
				}
				c, err := f.svc.Open(ctx, cadreToi, doc.ID, archive.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if b := readAll(t, c); !bytes.Equal(b, content) {
					t.Fatalf("read %d bytes, want the %d uploaded", len(b), n)
				}
				if !bytes.Equal(f.index.indexed[doc.ID], content) {
					t.Fatal("the indexer was not given the content")
				}
				for _, rng := range []store.Range{{Offset: 0, Length: 10}, {Offset: int64(n / 2), Length: -1}, {Offset: int64(n) + 5, Length: 3}} {
					c, err := f.svc.Open(ctx, cadreToi, doc.ID, archive.OpenOptions{Range: &rng})
					if err != nil {
						t.Fatal(err)
					}
					lo := min(rng.Offset, int64(n))
					hi := int64(n)
					if rng.Length >= 0 {
						hi = min(hi, lo+rng.Length)
					}
					if b := readAll(t, c); !bytes.Equal(b, content[lo:hi]) {
						t.Fatalf("range %+v: %d bytes, want %d", rng, len(b), hi-lo)
					}
				}
			})
		}
	})
}

// TestNoReadUp: a document above the reader's clearance does not exist for
// them, exactly like a missing one, and the attempt is audited as denied.
func TestNoReadUp(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte("nội dung tối mật")))
		if err != nil {
			t.Fatal(err)
		}
		missing, _ := archive.NewID(rand.Reader)
		for _, id := range []archive.ID{doc.ID, missing} {
			if _, err := f.svc.Get(ctx, cadreMat, id); !errors.Is(err, archive.ErrNotFound) {
				t.Fatalf("Get by a Mật-cleared cadre = %v, want ErrNotFound", err)
			}
			if _, err := f.svc.Open(ctx, cadreMat, id, archive.OpenOptions{}); !errors.Is(err, archive.ErrNotFound) {
				t.Fatalf("Open by a Mật-cleared cadre = %v, want ErrNotFound", err)
			}
			if _, err := f.svc.Open(ctx, auditor, id, archive.OpenOptions{}); !errors.Is(err, archive.ErrNotFound) {
				t.Fatalf("Open by an auditor = %v, want ErrNotFound", err)
			}
		}
		denied := f.audit.find("read", archive.Denied, "cadre-mat")
		if len(denied) != 2 || denied[0].Object != doc.ID.String() || denied[0].Level != access.Secret || denied[0].Reason != "clearance" {
			t.Fatalf("denied reads audited as %+v", denied)
		}
		for info, err := range f.svc.List(ctx, cadreMat) {
			t.Fatalf("List shows a Mật-cleared cadre %+v (%v)", info.ID, err)
		}
		var listed []archive.ID
		for d, err := range f.svc.List(ctx, cadreToi) {
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, d.ID)
		}
		if !slices.Equal(listed, []archive.ID{doc.ID}) {
			t.Fatalf("List for a Tối mật-cleared cadre = %v", listed)
		}
	})
}

// TestNoPlaintextInStore scans every stored byte for the title and the
// content.
func TestNoPlaintextInStore(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		content := bytes.Repeat([]byte("BÍ MẬT NHÀ NƯỚC 1234 "), 5000)
		doc, err := f.svc.Create(ctx, archivist, meta(access.TopSecret), upload(content))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reclassify(ctx, officer, doc.ID, archive.Reclassification{To: access.Secret, Reason: "hạ độ mật", DecisionRef: "QĐ 12/2026"}); err != nil {
			t.Fatal(err)
		}
		needles := [][]byte{[]byte(secretTitle), []byte("BÍ MẬT NHÀ NƯỚC"), []byte("15-NQ/TW"), []byte("Văn phòng Trung ương"), []byte("hạ độ mật")}
		n := 0
		for info, err := range f.store.List(ctx, "", "") {
			if err != nil {
				t.Fatal(err)
			}
			n++
			rc, _, err := f.store.Get(ctx, info.Key, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			for _, needle := range needles {
				if bytes.Contains(b, needle) || strings.Contains(info.Key, string(needle)) {
					t.Fatalf("%s holds plaintext %q", info.Key, needle)
				}
			}
		}
		if n < 3 {
			t.Fatalf("only %d objects stored", n)
		}
	})
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestInterruptedUpload: an upload that breaks leaves nothing behind.
func TestInterruptedUpload(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		boom := errors.New("client went away")
		for _, n := range []int64{10, 12 << 20} {
			_, err := f.svc.Create(ctx, archivist, meta(access.Confidential), archive.Upload{
				Content: failingReader{storetest.Stream(1, n), boom}, ContentType: "text/plain",
			})
			if !errors.Is(err, boom) {
				t.Fatalf("Create with a broken upload = %v, want the upload's error", err)
			}
		}
		for info, err := range f.store.List(ctx, "", "") {
			t.Fatalf("left behind: %+v %v", info, err)
		}
		if failed := f.audit.find("create", archive.Failed, "archivist"); len(failed) != 2 {
			t.Fatalf("failed creates audited %d times, want 2", len(failed))
		}
	})
}

// TestFailClosed: when the audit log cannot record, nothing happens.
func TestFailClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		f.audit.fail = errors.New("disk full")
		if _, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("y"))); !errors.Is(err, archive.ErrAudit) {
			t.Fatalf("Create with the audit log down = %v, want ErrAudit", err)
		}
		if _, err := f.svc.Open(ctx, cadreToi, doc.ID, archive.OpenOptions{}); !errors.Is(err, archive.ErrAudit) {
			t.Fatalf("Open with the audit log down = %v, want ErrAudit", err)
		}
		if _, err := f.svc.Reclassify(ctx, officer, doc.ID, archive.Reclassification{To: access.Unclassified, Reason: "r", DecisionRef: "d"}); !errors.Is(err, archive.ErrAudit) {
			t.Fatalf("Reclassify with the audit log down = %v, want ErrAudit", err)
		}
		f.audit.fail = nil
		n := 0
		for range f.svc.List(ctx, officer) {
			n++
		}
		if got, _ := f.svc.Get(ctx, officer, doc.ID); n != 1 || got.Level != access.Confidential {
			t.Fatalf("after refused actions: %d documents, level %v", n, got.Level)
		}
	})
}

func TestVersionsAndRevisions(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("bản 1")))
		if err != nil {
			t.Fatal(err)
		}
		v2, err := f.svc.AddVersion(ctx, archivist, doc.ID, upload([]byte("bản thứ hai")))
		if err != nil || v2.Version != 2 || v2.Revision != 2 || v2.Title != secretTitle {
			t.Fatalf("AddVersion = %+v, %v", v2, err)
		}
		m := v2.Metadata
		m.Keywords = []string{"bảo mật"}
		v3, err := f.svc.UpdateMetadata(ctx, archivist, doc.ID, m, 2)
		if err != nil || v3.Revision != 3 || v3.Version != 2 || !slices.Equal(v3.Keywords, []string{"bảo mật"}) {
			t.Fatalf("UpdateMetadata = %+v, %v", v3, err)
		}
		if _, err := f.svc.UpdateMetadata(ctx, archivist, doc.ID, m, 2); !errors.Is(err, archive.ErrConflict) {
			t.Fatalf("update from a stale revision = %v, want ErrConflict", err)
		}
		for name, change := range map[string]func(*archive.Metadata){
			"level":                         func(m *archive.Metadata) { m.Level = access.Unclassified },
			"shorter protection period":     func(m *archive.Metadata) { m.Protection.Years = 1 },
			"longer protection period":      func(m *archive.Metadata) { m.Protection.Years = 15; m.Protection.ExtensionDecision = "QĐ 9/QĐ" },
			"protection period start moved": func(m *archive.Metadata) { m.Protection.Since = archive.Date{Year: 2000, Month: 1, Day: 1} },
		} {
			changed := v3.Metadata
			change(&changed)
			if _, err := f.svc.UpdateMetadata(ctx, archivist, doc.ID, changed, 0); !errors.Is(err, archive.ErrInvalidRequest) {
				t.Fatalf("%s through UpdateMetadata = %v, want ErrInvalidRequest", name, err)
			}
		}
		if got, err := f.svc.Get(ctx, archivist, doc.ID); err != nil || got.Revision != 3 || got.Protection != v3.Protection {
			t.Fatalf("after refused updates: %+v, %v; want revision 3 unchanged", got, err)
		}
		if _, err := f.svc.UpdateMetadata(ctx, cadreToi, doc.ID, v3.Metadata, 0); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("update by a reader = %v, want ErrForbidden", err)
		}
		for ver, want := range map[uint32]string{0: "bản thứ hai", 1: "bản 1", 2: "bản thứ hai"} {
			c, err := f.svc.Open(ctx, cadreMat, doc.ID, archive.OpenOptions{Version: ver})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(readAll(t, c)); got != want {
				t.Fatalf("version %d reads %q, want %q", ver, got, want)
			}
		}
		if _, err := f.svc.Open(ctx, cadreMat, doc.ID, archive.OpenOptions{Version: 3}); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("Open of a version that does not exist = %v", err)
		}
		revs, err := f.svc.Revisions(ctx, cadreMat, doc.ID)
		if err != nil || len(revs) != 3 || revs[0].Version != 1 || revs[2].Keywords == nil {
			t.Fatalf("Revisions = %d, %v", len(revs), err)
		}
	})
}

func TestReclassify(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		m := meta(access.Confidential)
		m.Protection.Years = 5 // shorter than the default, as a decision may set
		doc, err := f.svc.Create(ctx, archivist, m, upload([]byte("nội dung")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddVersion(ctx, archivist, doc.ID, upload([]byte("nội dung 2"))); err != nil {
			t.Fatal(err)
		}
		// Raising: the archivist may; afterwards the Mật cadre cannot see it.
		up, err := f.svc.Reclassify(ctx, archivist, doc.ID, archive.Reclassification{To: access.TopSecret, Reason: "nâng độ mật", DecisionRef: "QĐ 1"})
		if err != nil || up.Level != access.TopSecret || len(up.History) != 1 || up.History[0].From != access.Confidential {
			t.Fatalf("raise = %+v, %v", up, err)
		}
		if _, err := f.svc.Get(ctx, cadreMat, doc.ID); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("after raising, a Mật cadre gets %v", err)
		}
		// Lowering: not the archivist, only the security officer.
		if _, err := f.svc.Reclassify(ctx, archivist, doc.ID, archive.Reclassification{To: access.Confidential, Reason: "r", DecisionRef: "d"}); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("lowering by an archivist = %v, want ErrForbidden", err)
		}
		if _, err := f.svc.Reclassify(ctx, cadreMat, doc.ID, archive.Reclassification{To: access.Unclassified, Reason: "r", DecisionRef: "d"}); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("lowering by an uncleared cadre = %v, want ErrNotFound", err)
		}
		down, err := f.svc.Reclassify(ctx, officer, doc.ID, archive.Reclassification{To: access.Unclassified, Reason: "giải mật", DecisionRef: "QĐ 2"})
		if err != nil || down.Level != access.Unclassified || len(down.History) != 2 {
			t.Fatalf("declassify = %+v, %v", down, err)
		}
		// Every version still opens, and only one envelope generation is
		// left per version: the old level's keys open nothing.
		for ver := uint32(1); ver <= 2; ver++ {
			c, err := f.svc.Open(ctx, cadreMat, doc.ID, archive.OpenOptions{Version: ver})
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, c)
			envs := 0
			for info, err := range f.store.List(ctx, fmt.Sprintf("docs/%s/%010d/env/", doc.ID, ver), "") {
				if err != nil {
					t.Fatal(err)
				}
				envs++
				_ = info
			}
			if envs != 1 {
				t.Fatalf("version %d has %d envelopes, want 1", ver, envs)
			}
		}
		if raised := f.audit.find("raise_level", archive.Allowed, "archivist"); len(raised) != 1 || raised[0].Target != access.TopSecret {
			t.Fatalf("raise audited as %+v", raised)
		}
		if !down.Protection.IsZero() {
			t.Fatalf("a declassified document keeps a protection period: %+v", down.Protection)
		}
		// Raising an unclassified document needs the state-secret entry.
		plain, err := f.svc.Create(ctx, archivist, meta(access.Unclassified), upload([]byte("thường")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reclassify(ctx, archivist, plain.ID, archive.Reclassification{To: access.Secret, Reason: "r", DecisionRef: "d"}); !errors.Is(err, archive.ErrInvalidMetadata) {
			t.Fatalf("raising without a state-secret reference = %v, want ErrInvalidMetadata", err)
		}
		raised, err := f.svc.Reclassify(ctx, archivist, plain.ID, archive.Reclassification{To: access.Secret, Reason: "r", DecisionRef: "d", StateSecretRef: "Danh mục BMNN, mục 7", ProtectionYears: 20})
		if err != nil || raised.Protection.Years != 20 || raised.Protection.Since.IsZero() {
			t.Fatalf("raise with a reference = %+v, %v", raised.Protection, err)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				m := doc.Metadata
				m.Keywords = []string{fmt.Sprint("k", i)}
				_, errs[i] = f.svc.UpdateMetadata(ctx, archivist, doc.ID, m, 1)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, archive.ErrConflict):
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent updates from revision 1 succeeded, want 1", ok)
		}
	})
}

func TestSweep(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("kept")))
		if err != nil {
			t.Fatal(err)
		}
		// What crashes leave: a document that never committed, and a
		// version of a committed one that never committed.
		orphan, _ := archive.NewID(rand.Reader)
		debris := []string{
			"docs/" + orphan.String() + "/0000000001/blob",
			"docs/" + orphan.String() + "/0000000001/env/0000000001",
			"docs/" + doc.ID.String() + "/0000000002/blob",
			"docs/" + doc.ID.String() + "/0000000001/env/0000000007",
		}
		for _, k := range debris {
			if _, err := f.store.Put(ctx, k, strings.NewReader("debris"), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if stats, err := f.svc.Sweep(ctx, time.Hour); err != nil || stats.Removed != 0 {
			t.Fatalf("sweep within the grace period: %+v, %v", stats, err)
		}
		stats, err := f.svc.Sweep(ctx, -time.Minute)
		if err != nil || stats.Removed != len(debris) {
			t.Fatalf("sweep: %+v, %v; want %d removed", stats, err, len(debris))
		}
		for _, k := range debris {
			if _, err := f.store.Stat(ctx, k); !errors.Is(err, store.ErrNotExist) {
				t.Fatalf("%s survived the sweep", k)
			}
		}
		c, err := f.svc.Open(ctx, cadreMat, doc.ID, archive.OpenOptions{})
		if err != nil || string(readAll(t, c)) != "kept" {
			t.Fatalf("committed document after the sweep: %v", err)
		}
	})
}

// TestCorpus: the indexer's system view sees every committed document at
// every level, reads its content, and writes nothing to the audit log.
func TestCorpus(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		want := map[archive.ID]string{}
		for i, level := range access.Levels() {
			body := fmt.Sprint("nội dung ", i)
			doc, err := f.svc.Create(ctx, archivist, meta(level), upload([]byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			want[doc.ID] = body
		}
		// Debris of an interrupted create is not a document.
		orphan, _ := archive.NewID(rand.Reader)
		if _, err := f.store.Put(ctx, "docs/"+orphan.String()+"/0000000001/blob", strings.NewReader("x"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		events := len(f.audit.events)
		got := 0
		for doc, err := range f.svc.Corpus().Documents(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			rc, err := f.svc.Corpus().Open(ctx, doc)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(b) != want[doc.ID] {
				t.Fatalf("%s reads %q, %v; want %q", doc.ID, b, err, want[doc.ID])
			}
			got++
		}
		if got != len(want) {
			t.Fatalf("Corpus yielded %d documents, want %d", got, len(want))
		}
		if len(f.audit.events) != events {
			t.Fatal("the corpus wrote audit events")
		}
	})
}

// countingStore wraps a real store and counts listings of the whole docs/
// prefix.
type countingStore struct {
	store.Store
	mu        sync.Mutex
	fullLists int
}

func (c *countingStore) List(ctx context.Context, prefix, after string) iter.Seq2[store.Info, error] {
	if prefix == "docs/" {
		c.mu.Lock()
		c.fullLists++
		c.mu.Unlock()
	}
	return c.Store.List(ctx, prefix, after)
}

// TestPassListsOnce: a pass over every document (index rebuild, sweep,
// declassification) reads the listing of docs/ once, not once per
// document, so it stays linear in the number of documents.
func TestPassListsOnce(t *testing.T) {
	folder, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer folder.Close()
	cs := &countingStore{Store: folder}
	f := newFixture(t, cs)
	ctx := t.Context()
	for i := range 25 {
		if _, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, err := range f.svc.Corpus().Documents(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 25 || cs.fullLists != 1 {
		t.Fatalf("%d documents with %d listings of docs/, want 25 with 1", n, cs.fullLists)
	}
	if _, err := f.svc.Sweep(ctx, time.Hour); err != nil || cs.fullLists != 2 {
		t.Fatalf("sweep: %v, %d listings in all, want 2", err, cs.fullLists)
	}
}
