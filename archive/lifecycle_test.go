package archive_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

var officer2 = actor("officer-2", access.TopSecret, access.SecurityOfficer)

// TestDestruction: two people, then nothing of the document opens, and no
// envelope is left in the store.
func TestDestruction(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte("sẽ bị tiêu hủy")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddVersion(ctx, archivist, doc.ID, upload([]byte("bản 2"))); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ApproveDestruction(ctx, officer, doc.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("approval without a request = %v, want ErrForbidden", err)
		}
		if _, err := f.svc.RequestDestruction(ctx, cadreToi, doc.ID, "r", "d"); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("request by a reader = %v, want ErrForbidden", err)
		}
		req, err := f.svc.RequestDestruction(ctx, officer, doc.ID, "hết thời hạn lưu trữ", "QĐ hội đồng 5/2026")
		if err != nil || req.Destruction == nil || req.Destruction.By != "officer" {
			t.Fatalf("request = %+v, %v", req.Destruction, err)
		}
		if _, err := f.svc.RequestDestruction(ctx, archivist, doc.ID, "again", "d"); !errors.Is(err, archive.ErrConflict) {
			t.Fatalf("a second request = %v, want ErrConflict", err)
		}
		if err := f.svc.ApproveDestruction(ctx, officer, doc.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("approval by the requester = %v, want ErrForbidden", err)
		}
		if err := f.svc.ApproveDestruction(ctx, archivist, doc.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("approval by an archivist = %v, want ErrForbidden", err)
		}
		if err := f.svc.ApproveDestruction(ctx, officer2, doc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, officer, doc.ID); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("Get after destruction = %v, want ErrNotFound", err)
		}
		if _, ok := f.index.indexed[doc.ID]; ok {
			t.Fatal("the destroyed document is still indexed")
		}
		var left []string
		for info, err := range f.store.List(ctx, "docs/"+doc.ID.String()+"/", "") {
			if err != nil {
				t.Fatal(err)
			}
			left = append(left, info.Key)
		}
		if len(left) != 1 || !strings.HasSuffix(left[0], "/destroyed") {
			t.Fatalf("after destruction the store holds %q, want only the tombstone", left)
		}
		if got := f.audit.find("approve_destruction", archive.Allowed, "officer-2"); len(got) != 1 {
			t.Fatalf("approval audited %d times", len(got))
		}
	})
}

// TestInterruptedDestruction: a tombstone alone already hides the document,
// and the sweep removes the rest whatever its age.
func TestInterruptedDestruction(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Put(ctx, "docs/"+doc.ID.String()+"/destroyed", strings.NewReader(""), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, officer, doc.ID); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("Get of a tombstoned document = %v", err)
		}
		stats, err := f.svc.Sweep(ctx, 24*time.Hour)
		if err != nil || stats.Removed != 3 {
			t.Fatalf("sweep = %+v, %v; want the blob, envelope and revision removed", stats, err)
		}
	})
}

// TestCopyRegister: every download of a classified document enters the
// register; Tuyệt mật needs an approval by another person, good for one
// copy.
func TestCopyRegister(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		reader := actor("cadre-tm", access.TopSecret, access.Reader)
		download := func(a archive.Actor, id archive.ID) error {
			c, err := f.svc.Open(ctx, a, id, archive.OpenOptions{Download: true})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = io.ReadAll(c)
			return err
		}
		secret, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte("tối mật")))
		if err != nil {
			t.Fatal(err)
		}
		if err := download(reader, secret.ID); err != nil {
			t.Fatalf("download of a Tối mật document (no approval needed by default): %v", err)
		}
		doc, _ := f.svc.Get(ctx, reader, secret.ID)
		if len(doc.CopyRegister) != 1 || doc.CopyRegister[0].By != "cadre-tm" || doc.CopyRegister[0].TakenAt.IsZero() {
			t.Fatalf("register after a download: %+v", doc.CopyRegister)
		}

		top, err := f.svc.Create(ctx, archivist, meta(access.TopSecret), upload([]byte("tuyệt mật")))
		if err != nil {
			t.Fatal(err)
		}
		if err := download(reader, top.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("download of Tuyệt mật without approval = %v, want ErrForbidden", err)
		}
		if c, err := f.svc.Open(ctx, reader, top.ID, archive.OpenOptions{}); err != nil {
			t.Fatalf("viewing (not copying) needs no approval: %v", err)
		} else {
			c.Close()
		}
		req, err := f.svc.RequestCopy(ctx, reader, top.ID, "phục vụ họp")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ApproveCopy(ctx, reader, top.ID, req.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("self-approval by a reader = %v, want ErrForbidden", err)
		}
		if _, err := f.svc.ApproveCopy(ctx, officer, top.ID, "nosuchrequest"); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("approving an unknown request = %v, want ErrForbidden", err)
		}
		if _, err := f.svc.ApproveCopy(ctx, officer, top.ID, req.ID); err != nil {
			t.Fatal(err)
		}
		if err := download(reader, top.ID); err != nil {
			t.Fatalf("download with an approval: %v", err)
		}
		if err := download(reader, top.ID); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("a second download on one approval = %v, want ErrForbidden", err)
		}
		doc, _ = f.svc.Get(ctx, reader, top.ID)
		if len(doc.CopyRegister) != 1 || doc.CopyRegister[0].ApprovedBy != "officer" || doc.CopyRegister[0].TakenVersion != 1 {
			t.Fatalf("register: %+v", doc.CopyRegister)
		}
		if denied := f.audit.find("download", archive.Denied, "cadre-tm"); len(denied) != 2 || denied[0].Reason != "copy_not_approved" {
			t.Fatalf("refused downloads audited as %+v", denied)
		}
	})
}

// TestDeclassifyExpired: a document whose protection period has ended is
// declassified by the system, with an automatic history entry, and becomes
// readable to an uncleared cadre; one still protected is left alone.
func TestDeclassifyExpired(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		old := meta(access.Confidential)
		old.DateIssued = archive.Date{Year: 2010, Month: 5, Day: 1} // 10 years: ended in 2020
		expired, err := f.svc.Create(ctx, archivist, old, upload([]byte("cũ")))
		if err != nil {
			t.Fatal(err)
		}
		current, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte("mới")))
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.svc.DeclassifyExpired(ctx)
		if err != nil || n != 1 {
			t.Fatalf("DeclassifyExpired = %d, %v; want 1", n, err)
		}
		uncleared := actor("cadre-0", access.Unclassified, access.Reader)
		doc, err := f.svc.Get(ctx, uncleared, expired.ID)
		if err != nil {
			t.Fatalf("the declassified document for an uncleared cadre: %v", err)
		}
		h := doc.History
		if doc.Level != access.Unclassified || len(h) != 1 || !h[0].Automatic || h[0].From != access.Confidential || h[0].By != "" {
			t.Fatalf("declassified as %v with history %+v", doc.Level, h)
		}
		if _, err := f.svc.Get(ctx, uncleared, current.ID); !errors.Is(err, archive.ErrNotFound) {
			t.Fatalf("the protected document: %v", err)
		}
		if ev := f.audit.find("lower_level", archive.Allowed, archive.SystemID); len(ev) != 1 || ev[0].Reason != "protection_expired" {
			t.Fatalf("audited as %+v", ev)
		}
		if n, err := f.svc.DeclassifyExpired(ctx); err != nil || n != 0 {
			t.Fatalf("second pass = %d, %v; want 0", n, err)
		}
	})
}

// TestRewrapAfterRotation: after a level's KEK is rotated, the rewrap pass
// moves every document of the level to the new version, the old version can
// be retired, and everything still opens; other levels are untouched.
func TestRewrapAfterRotation(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		var secret []archive.ID
		for i := range 3 {
			doc, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte{byte(i)}))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := f.svc.AddVersion(ctx, archivist, doc.ID, upload([]byte("v2"))); err != nil {
					t.Fatal(err)
				}
			}
			secret = append(secret, doc.ID)
		}
		other, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("mật")))
		if err != nil {
			t.Fatal(err)
		}
		old, _ := f.keys.Active(crypto.Secret)
		if _, err := f.keys.Rotate(crypto.Secret, time.Now()); err != nil {
			t.Fatal(err)
		}
		admin := actor("admin", access.TopSecret, access.Admin)
		if _, err := f.svc.Rewrap(ctx, archivist, access.Secret); !errors.Is(err, archive.ErrForbidden) {
			t.Fatalf("rewrap by an archivist = %v, want ErrForbidden", err)
		}
		stats, err := f.svc.Rewrap(ctx, admin, access.Secret)
		if err != nil || stats.Documents != 3 || stats.Rewrapped != 3 {
			t.Fatalf("Rewrap = %+v, %v", stats, err)
		}
		if stats, err := f.svc.Rewrap(ctx, admin, access.Secret); err != nil || stats.Rewrapped != 0 {
			t.Fatalf("second pass = %+v, %v; want nothing to do", stats, err)
		}
		if err := f.keys.Retire(crypto.Secret, old, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, id := range append(secret, other.ID) {
			for ver := uint32(1); ; ver++ {
				c, err := f.svc.Open(ctx, cadreToi, id, archive.OpenOptions{Version: ver})
				if errors.Is(err, archive.ErrNotFound) && ver > 1 {
					break
				}
				if err != nil {
					t.Fatalf("%s version %d after retiring the old key: %v", id, ver, err)
				}
				if _, err := io.ReadAll(c); err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
		}
	})
}

// TestIndexRetry: a committed change the indexer could not take is not
// lost until the next start. It is indexed even when the client goes away
// right after the commit, and RetryIndex brings in what the indexer
// refused: a new document, and the removal of a destroyed one.
func TestIndexRetry(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()

		// The request is cancelled as the indexer starts: the entry is
		// written all the same.
		rctx, cancel := context.WithCancel(ctx)
		f.index.setFail(func(ictx context.Context) error {
			cancel()
			return ictx.Err()
		})
		gone, err := f.svc.Create(rctx, archivist, meta(access.Secret), upload([]byte("khách đã ngắt kết nối")))
		if err != nil {
			t.Fatal(err)
		}
		if !f.index.has(gone.ID) {
			t.Error("a document committed as its client went away was not indexed")
		}

		// The indexer is down: the document is committed, not indexed,
		// and retried until the indexer is back.
		down := errors.New("index unavailable")
		f.index.setFail(func(context.Context) error { return down })
		doc, err := f.svc.Create(ctx, archivist, meta(access.Secret), upload([]byte("chờ lập chỉ mục")))
		if err != nil {
			t.Fatalf("create with the indexer down = %v, want the document committed", err)
		}
		if f.index.has(doc.ID) {
			t.Fatal("indexed although the indexer failed")
		}
		if done, failed, err := f.svc.RetryIndex(ctx); done != 0 || failed != 1 || !errors.Is(err, down) {
			t.Fatalf("RetryIndex with the indexer still down = %d, %d, %v; want 0, 1, the indexer's error", done, failed, err)
		}
		f.index.setFail(nil)
		if done, failed, err := f.svc.RetryIndex(ctx); done != 1 || failed != 0 || err != nil {
			t.Fatalf("RetryIndex = %d, %d, %v; want 1, 0, nil", done, failed, err)
		}
		if got := f.index.indexed[doc.ID]; string(got) != "chờ lập chỉ mục" {
			t.Fatalf("retried entry holds %q", got)
		}
		if done, failed, err := f.svc.RetryIndex(ctx); done != 0 || failed != 0 || err != nil {
			t.Fatalf("a second RetryIndex = %d, %d, %v; want nothing to do", done, failed, err)
		}

		// A destroyed document whose removal failed is removed by the
		// retry.
		if _, err := f.svc.RequestDestruction(ctx, officer, doc.ID, "hết thời hạn lưu trữ", "QĐ 6/2026"); err != nil {
			t.Fatal(err)
		}
		f.index.setFail(func(context.Context) error { return down })
		if err := f.svc.ApproveDestruction(ctx, officer2, doc.ID); err != nil {
			t.Fatal(err)
		}
		if !f.index.has(doc.ID) {
			t.Fatal("removed although the indexer failed")
		}
		f.index.setFail(nil)
		if done, failed, err := f.svc.RetryIndex(ctx); done != 1 || failed != 0 || err != nil {
			t.Fatalf("RetryIndex after destruction = %d, %d, %v; want 1, 0, nil", done, failed, err)
		}
		if f.index.has(doc.ID) {
			t.Fatal("the destroyed document is still indexed after the retry")
		}
	})
}
