package archive_test

import (
	"errors"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
)

// fieldsOf returns the field names of a FieldErrors in err.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var fes archive.FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("error %v is not a FieldErrors", err)
	}
	var out []string
	for _, fe := range fes {
		if fe.Message == "" || fe.MessageVI == "" {
			t.Errorf("field error %+v lacks a message", fe)
		}
		out = append(out, fe.Field+":"+fe.Code)
	}
	return out
}

// TestExtendProtection: only a security officer who can read the document
// extends its period, only while it runs, with a decision; the extension
// is a new revision with a history entry, audited and re-indexed, and
// automatic declassification follows the new end.
func TestExtendProtection(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload([]byte("mật, hết hạn 14/03/2035")))
		if err != nil {
			t.Fatal(err)
		}
		ext := archive.Extension{Years: 5, Reason: "còn giá trị bảo vệ", DecisionRef: "QĐ 21/QĐ-VPTU ngày 20/11/2026"}

		// Who may not.
		lowOfficer := actor("officer-0", access.Unclassified, access.SecurityOfficer)
		for _, tc := range []struct {
			name string
			a    archive.Actor
			want error
		}{
			{"archivist", archivist, archive.ErrForbidden},
			{"reader who can read it", cadreMat, archive.ErrForbidden},
			{"auditor", auditor, archive.ErrNotFound},
			{"officer without the clearance", lowOfficer, archive.ErrNotFound},
		} {
			if _, err := f.svc.ExtendProtection(ctx, tc.a, doc.ID, ext); !errors.Is(err, tc.want) {
				t.Errorf("%s: ExtendProtection = %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, err := f.svc.ExtendProtection(ctx, officer, archive.ID{1}, ext); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("a missing document: %v", err)
		}
		if got := f.audit.find("extend_protection", archive.Denied, "archivist"); len(got) != 1 || got[0].Reason != "no_role" {
			t.Errorf("the archivist's attempt audited as %+v", got)
		}
		if got := f.audit.find("extend_protection", archive.Denied, "officer-0"); len(got) != 1 || got[0].Reason != "clearance" {
			t.Errorf("the uncleared officer's attempt audited as %+v", got)
		}

		// Invalid extensions change nothing.
		for _, tc := range []struct {
			name string
			x    archive.Extension
			want string
		}{
			{"no years", archive.Extension{DecisionRef: "QĐ 1"}, "years:out_of_range"},
			{"negative years", archive.Extension{Years: -3, DecisionRef: "QĐ 1"}, "years:out_of_range"},
			{"no decision", archive.Extension{Years: 2}, "decision_ref:required"},
			{"more than the level's period at once", archive.Extension{Years: 11, DecisionRef: "QĐ 1"}, "years:out_of_range"},
			{"control character in the reason", archive.Extension{Years: 2, DecisionRef: "QĐ 1", Reason: "a\x00b"}, "reason:control_char"},
		} {
			_, err := f.svc.ExtendProtection(ctx, officer, doc.ID, tc.x)
			if got := fieldsOf(t, err); len(got) != 1 || got[0] != tc.want {
				t.Errorf("%s: field errors %v, want [%s]", tc.name, got, tc.want)
			}
		}
		if got, _ := f.svc.Get(ctx, officer, doc.ID); got.Revision != 1 || len(got.History) != 0 {
			t.Fatalf("refused extensions left revision %d, history %+v", got.Revision, got.History)
		}

		// The officer extends it, twice.
		f.index.Remove(ctx, doc.ID)
		got, err := f.svc.ExtendProtection(ctx, officer, doc.ID, ext)
		if err != nil {
			t.Fatal(err)
		}
		end, _ := got.ProtectionEnd(archive.Rules{})
		want := archive.ClassificationChange{
			At: got.History[0].At, By: "officer", From: access.Confidential, To: access.Confidential,
			Reason: ext.Reason, DecisionRef: ext.DecisionRef,
			OldEnd: archive.Date{Year: 2035, Month: 3, Day: 14}, NewEnd: archive.Date{Year: 2040, Month: 3, Day: 14},
		}
		if got.Revision != 2 || got.Protection.Years != 15 || got.Protection.ExtensionDecision != ext.DecisionRef ||
			end != want.NewEnd || len(got.History) != 1 || got.History[0] != want || !got.History[0].IsExtension() {
			t.Fatalf("after the extension: revision %d, protection %+v, end %v, history %+v", got.Revision, got.Protection, end, got.History)
		}
		if got.Level != access.Confidential || got.UpdatedBy != "officer" {
			t.Fatalf("level %v, updated by %q", got.Level, got.UpdatedBy)
		}
		if _, ok := f.index.indexed[doc.ID]; !ok {
			t.Fatal("the extended document was not re-indexed")
		}
		// The policy allowed two: the one of eleven years, which then
		// failed its check, and this one.
		if ev := f.audit.find("extend_protection", archive.Allowed, "officer"); len(ev) != 2 || ev[1].Object != doc.ID.String() || ev[1].Level != access.Confidential {
			t.Fatalf("the extension audited as %+v", ev)
		}
		if ev := f.audit.find("extend_protection", archive.Failed, "officer"); len(ev) != 1 || ev[0].Reason != "invalid" {
			t.Fatalf("the refused extension of eleven years audited as %+v", ev)
		}
		got, err = f.svc.ExtendProtection(ctx, officer, doc.ID, archive.Extension{Years: 10, DecisionRef: "QĐ 30/QĐ-VPTU"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Protection.Years != 25 || len(got.History) != 2 || got.History[1].OldEnd != want.NewEnd ||
			got.History[1].NewEnd != (archive.Date{Year: 2050, Month: 3, Day: 14}) || got.Protection.ExtensionDecision != "QĐ 30/QĐ-VPTU" {
			t.Fatalf("after the second extension: protection %+v, history %+v", got.Protection, got.History)
		}
		revs, err := f.svc.Revisions(ctx, cadreMat, doc.ID)
		if err != nil || len(revs) != 3 || revs[0].Protection.Years != 0 {
			t.Fatalf("revisions: %d, %v", len(revs), err)
		}

		// Declassification follows the extended end, not the first one.
		at := func(y int) *archive.Service {
			clock := func() time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
			svc, err := archive.New(archive.Config{Store: f.store, Keys: f.keys, Audit: f.audit, Index: f.index, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		if n, err := at(2045).DeclassifyExpired(ctx); err != nil || n != 0 {
			t.Fatalf("in 2045, past the first end: declassified %d, %v", n, err)
		}
		if n, err := at(2051).DeclassifyExpired(ctx); err != nil || n != 1 {
			t.Fatalf("in 2051, past the extended end: declassified %d, %v", n, err)
		}
		got, err = f.svc.Get(ctx, actor("cadre-0", access.Unclassified, access.Reader), doc.ID)
		if err != nil || got.Level != access.Unclassified || len(got.History) != 3 || !got.History[2].Automatic {
			t.Fatalf("declassified: %v, level %v, history %+v", err, got.Level, got.History)
		}
	})
}

// TestExtendEndedProtection: a period that has ended, or a document with
// none, cannot be extended; the refusal names the field and is audited as
// denied by the policy.
func TestExtendEndedProtection(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		old := meta(access.Confidential)
		old.DateIssued = archive.Date{Year: 2010, Month: 5, Day: 1} // 10 years: ended in 2020
		ended, err := f.svc.Create(ctx, archivist, old, upload([]byte("đã hết hạn")))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := f.svc.Create(ctx, archivist, meta(access.Unclassified), upload([]byte("thường")))
		if err != nil {
			t.Fatal(err)
		}
		ext := archive.Extension{Years: 5, DecisionRef: "QĐ 22/QĐ-VPTU"}
		_, err = f.svc.ExtendProtection(ctx, officer, ended.ID, ext)
		if !errors.Is(err, archive.ErrForbidden) {
			t.Errorf("an ended period: %v, want ErrForbidden", err)
		}
		if got := fieldsOf(t, err); len(got) != 1 || got[0] != "protection:expired" {
			t.Errorf("an ended period: field errors %v", got)
		}
		_, err = f.svc.ExtendProtection(ctx, officer, plain.ID, ext)
		if got := fieldsOf(t, err); len(got) != 1 || got[0] != "level:not_allowed" {
			t.Errorf("an unclassified document: field errors %v", got)
		}
		if ev := f.audit.find("extend_protection", archive.Denied, "officer"); len(ev) != 2 || ev[0].Reason != "protection_ended" || ev[1].Reason != "protection_ended" {
			t.Errorf("refusals audited as %+v", ev)
		}
		// One who may not read the document learns nothing of its period.
		if _, err := f.svc.ExtendProtection(ctx, actor("officer-0", access.Unclassified, access.SecurityOfficer), ended.ID, ext); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("an uncleared officer: %v, want ErrNotFound", err)
		}
		if got, _ := f.svc.Get(ctx, officer, ended.ID); got.Revision != 1 {
			t.Errorf("the ended document moved to revision %d", got.Revision)
		}
	})
}

// TestExtensionHistoryValidation: an extension entry keeps the level and
// moves the end later; anything else is refused by Validate.
func TestExtensionHistoryValidation(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	base := func() archive.Document {
		d := archive.Document{
			ID: archive.ID{7}, Version: 1, Revision: 2, ContentType: "application/pdf", Size: 1, SHA256: archive.Digest{1},
			CreatedBy: "archivist", CreatedAt: now.Add(-time.Hour), Metadata: meta(access.Secret),
		}
		d.Protection = archive.Protection{Years: 25, ExtensionDecision: "QĐ 1"}
		d.History = []archive.ClassificationChange{{
			At: now, By: "officer", From: access.Secret, To: access.Secret, DecisionRef: "QĐ 1",
			OldEnd: archive.Date{Year: 2045, Month: 3, Day: 14}, NewEnd: archive.Date{Year: 2050, Month: 3, Day: 14},
		}}
		d.Normalize()
		return d
	}
	if err := func() error { d := base(); return d.Validate(now, archive.Rules{}) }(); err != nil {
		t.Fatalf("a valid extension entry: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*archive.ClassificationChange)
		want   string
	}{
		{"changes the level", func(h *archive.ClassificationChange) { h.From = access.Confidential }, "classification_history[0].to:inconsistent"},
		{"moves the end earlier", func(h *archive.ClassificationChange) { h.NewEnd = archive.Date{Year: 2040, Month: 1, Day: 1} }, "classification_history[0].new_end:too_early"},
		{"lacks the old end", func(h *archive.ClassificationChange) { h.OldEnd = archive.Date{} }, "classification_history[0].old_end:required"},
		{"lacks a decision", func(h *archive.ClassificationChange) { h.DecisionRef = "" }, "classification_history[0].decision_ref:required"},
		{"is automatic", func(h *archive.ClassificationChange) { h.Automatic = true }, "classification_history[0].automatic:invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			tc.change(&d.History[0])
			err := d.Validate(now, archive.Rules{})
			found := false
			for _, f := range fieldsOf(t, err) {
				found = found || f == tc.want
			}
			if !found {
				t.Errorf("Validate = %v, want %s", err, tc.want)
			}
		})
	}
}
