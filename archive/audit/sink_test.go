package audit_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/store"
	"khomat/crypto"
)

// TestArchiveSink runs the archive service on the real audit log: every
// decision lands in the log, denials included, the log verifies offline, and
// once the log cannot write, the service refuses to act.
func TestArchiveSink(t *testing.T) {
	ctx := t.Context()
	st, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	log, err := audit.Open(dir, audit.Options{Node: "test", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := archive.New(archive.Config{Store: st, Keys: keys, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	archivist := archive.Actor{Subject: access.Subject{ID: "u-archivist", Roles: []access.Role{access.Archivist}, Clearance: access.TopSecret}, ClientAddr: "10.0.0.5", RequestID: "r1"}
	cadre := archive.Actor{Subject: access.Subject{ID: "u-cadre", Roles: []access.Role{access.Reader}, Clearance: access.Confidential}, ClientAddr: "10.0.0.6", RequestID: "r2"}

	doc, err := svc.Create(ctx, archivist, archive.Metadata{
		IssuingBody: "Văn phòng Trung ương Đảng", DateIssued: archive.Date{Year: 2025, Month: 1, Day: 2},
		Type: archive.DocType("bao_cao"), Title: "Báo cáo tuyệt mật", Level: access.TopSecret, StateSecretRef: "mục 1",
	}, archive.Upload{Content: bytes.NewReader([]byte("nội dung")), ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, cadre, doc.ID); !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("Get by an uncleared cadre = %v", err)
	}

	page, err := log.Query(ctx, audit.Query{Object: doc.ID.String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 2 {
		t.Fatalf("%d events for the document, want the create and the denial", len(page.Entries))
	}
	denial, create := page.Entries[0], page.Entries[1] // newest first
	if create.Action != "create" || create.Outcome != audit.Allowed || create.Actor != "u-archivist" || create.Level != access.TopSecret {
		t.Fatalf("create recorded as %+v", create.Event)
	}
	if denial.Action != "view_metadata" || denial.Outcome != audit.Denied || denial.Reason != "clearance" || denial.ClientIP != "10.0.0.6" || denial.Request != "r2" {
		t.Fatalf("denial recorded as %+v", denial.Event)
	}
	var buf bytes.Buffer
	if _, err := log.Export(ctx, &buf, audit.Query{}, audit.JSONLines); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("tuyệt mật")) || bytes.Contains(buf.Bytes(), []byte("nội dung")) {
		t.Fatal("the audit log holds a title or content")
	}

	if err := log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, audit.Folder{Dir: dir}, log.Verifier())
	if err != nil || len(rep.Problems) != 0 || rep.Events != 2 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}

	// The log is closed: the service must refuse rather than act unlogged.
	if _, err := svc.Open(ctx, archivist, doc.ID, archive.OpenOptions{}); !errors.Is(err, archive.ErrAudit) {
		t.Fatalf("Open with the audit log closed = %v, want ErrAudit", err)
	}
	if _, err := svc.Create(ctx, archivist, archive.Metadata{}, archive.Upload{Content: io.LimitReader(rand.Reader, 10), ContentType: "text/plain"}); err == nil {
		t.Fatal("Create with the audit log closed succeeded")
	}
}
