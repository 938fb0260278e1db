package identity

import (
	"context"
	"errors"
	"slices"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

// TestDirectory: an auditor learns who an actor id is, whatever the
// account's clearance, and nothing that grants anything; no one else may
// ask; every read is audited.
func TestDirectory(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		auditor := e.mustCreate("kiemtra", []access.Role{access.Auditor}, access.Confidential)
		top := e.mustCreate("thamquyen", []access.Role{access.SecurityOfficer}, access.TopSecret)
		reader := e.mustCreate("canbo", []access.Role{access.Reader}, access.Secret)
		if _, err := e.svc.Disable(ctx, e.rootActor(), reader.ID); err != nil {
			t.Fatal(err)
		}

		all, err := e.svc.Directory(ctx, actor(auditor))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range all {
			names = append(names, d.Username)
		}
		if want := []string{"canbo", "kiemtra", rootName, "thamquyen"}; !slices.Equal(names, want) {
			t.Fatalf("the whole directory names %q, want %q", names, want)
		}
		// An account cleared above the auditor is in it: an event of its
		// actor would otherwise be anonymous.
		got, err := e.svc.Directory(ctx, actor(auditor), top.ID, reader.ID, top.ID, "ffffffffffffffffffffffffffffffff", "../users/key")
		if err != nil {
			t.Fatal(err)
		}
		want := []DirectoryEntry{
			{ID: reader.ID, Username: "canbo", DisplayName: "Cán bộ canbo", OrgUnit: "Văn phòng", Disabled: true},
			{ID: top.ID, Username: "thamquyen", DisplayName: "Cán bộ thamquyen", OrgUnit: "Văn phòng"},
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("Directory(ids) = %+v, want %+v", got, want)
		}
		// A username, in any case, names its account too.
		if got, err := e.svc.Directory(ctx, actor(auditor), "ThamQuyen", "khongco"); err != nil || len(got) != 1 || got[0].ID != top.ID {
			t.Fatalf("Directory(usernames) = %+v, %v; want only thamquyen", got, err)
		}
		if ev := e.audit.find(ActionAuditRead, archive.Allowed); len(ev) != 3 || ev[1].Actor != auditor.ID || ev[1].Detail != "directory" {
			t.Fatalf("directory reads audited as %+v", ev)
		}

		// The admin manages accounts but does not read the log; a reader
		// neither.
		for _, u := range []User{e.root, top} {
			if _, err := e.svc.Directory(ctx, actor(u), reader.ID); !errors.Is(err, ErrForbidden) {
				t.Errorf("Directory as %s = %v, want ErrForbidden", u.Username, err)
			}
		}
		if ev := e.audit.find(ActionAuditRead, archive.Denied); len(ev) != 2 {
			t.Fatalf("refused directory reads audited %d times, want 2", len(ev))
		}
	})
}
