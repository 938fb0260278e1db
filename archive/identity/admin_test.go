package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

func TestPolicy(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		secretAdmin := e.mustCreate("admin.mat", []access.Role{access.Admin}, access.Secret, "kinh-te")
		reader := e.mustCreate("canbo", []access.Role{access.Reader, access.Archivist}, access.TopSecret, "kinh-te", "quoc-phong")
		top := e.mustCreate("tuyetmat", []access.Role{access.Reader}, access.TopSecret)
		foreign := e.mustCreate("quocphong", []access.Role{access.Reader}, access.Confidential, "quoc-phong")
		plain := e.mustCreate("thuong", []access.Role{access.Reader}, access.Confidential, "kinh-te")
		disabledAdmin := e.mustCreate("admin.cu", []access.Role{access.Admin}, access.TopSecret)
		if _, err := e.svc.Disable(ctx, e.rootActor(), disabledAdmin.ID); err != nil {
			t.Fatal(err)
		}
		disabledAdmin.Disabled = true

		newUser := func(name string, l access.Level, comps ...string) NewUser {
			return NewUser{Username: name, Password: "một mật khẩu đủ dài", DisplayName: name,
				Roles: []access.Role{access.Reader}, Clearance: l, Compartments: comps}
		}
		tests := []struct {
			name   string
			actor  archive.Actor
			op     func(a archive.Actor) error
			want   error
			reason access.Reason // of the last audit event, when denied
		}{
			{"admin creates within own clearance and compartments", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.mat", access.Secret, "kinh-te"))
				return err
			}, nil, ""},
			{"admin cannot create above own clearance", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.tuyetmat", access.TopSecret))
				return err
			}, ErrForbidden, access.ReasonAboveOwnClearance},
			{"admin cannot grant a compartment it lacks", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.qp", access.Confidential, "quoc-phong"))
				return err
			}, ErrForbidden, access.ReasonCompartment},
			{"admin cannot raise a clearance above own", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, plain.ID, UserUpdate{Clearance: ptr(access.TopSecret)})
				return err
			}, ErrForbidden, access.ReasonAboveOwnClearance},
			{"admin cannot add a compartment it lacks", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, plain.ID, UserUpdate{Compartments: &[]string{"kinh-te", "quoc-phong"}})
				return err
			}, ErrForbidden, access.ReasonCompartment},
			{"admin raises a clearance up to own", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, plain.ID, UserUpdate{Clearance: ptr(access.Secret)})
				return err
			}, nil, ""},
			{"admin cannot see an account above own clearance", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Get(ctx, a, top.ID)
				return err
			}, ErrNotFound, access.ReasonAboveOwnClearance},
			{"admin cannot reset the password of an account above own clearance", actor(secretAdmin), func(a archive.Actor) error {
				return e.svc.SetPassword(ctx, a, top.ID, "mật khẩu mới đủ dài")
			}, ErrNotFound, access.ReasonAboveOwnClearance},
			{"admin cannot disable an account with a compartment it lacks", actor(secretAdmin), func(a archive.Actor) error {
				_, err := e.svc.Disable(ctx, a, foreign.ID)
				return err
			}, ErrNotFound, access.ReasonCompartment},
			{"non-admin cannot create", actor(reader), func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.canbo", access.Unclassified))
				return err
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot list", actor(reader), func(a archive.Actor) error {
				_, err := e.svc.List(ctx, a)
				return err
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot read an account", actor(reader), func(a archive.Actor) error {
				_, err := e.svc.Get(ctx, a, plain.ID)
				return err
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot change roles", actor(reader), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, plain.ID, UserUpdate{Roles: &[]access.Role{access.Admin}})
				return err
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot disable", actor(reader), func(a archive.Actor) error {
				_, err := e.svc.Disable(ctx, a, plain.ID)
				return err
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot reset a password", actor(reader), func(a archive.Actor) error {
				return e.svc.SetPassword(ctx, a, plain.ID, "mật khẩu mới đủ dài")
			}, ErrForbidden, access.ReasonNoRole},
			{"non-admin cannot end sessions", actor(reader), func(a archive.Actor) error {
				return e.svc.EndSessions(ctx, a, plain.ID)
			}, ErrForbidden, access.ReasonNoRole},
			{"no subject cannot create", archive.Actor{}, func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.khong", access.Unclassified))
				return err
			}, ErrForbidden, access.ReasonNoSubject},
			{"disabled admin cannot create", actor(disabledAdmin), func(a archive.Actor) error {
				_, err := e.svc.Create(ctx, a, newUser("moi.cu", access.Unclassified))
				return err
			}, ErrForbidden, access.ReasonNoSubject},
			{"admin cannot change own roles", e.rootActor(), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, e.root.ID, UserUpdate{Roles: &[]access.Role{access.Admin, access.Reader}})
				return err
			}, ErrForbidden, ReasonSelfChange},
			{"admin cannot disable itself", e.rootActor(), func(a archive.Actor) error {
				_, err := e.svc.Disable(ctx, a, e.root.ID)
				return err
			}, ErrForbidden, ReasonSelfChange},
			{"admin cannot reset own password without the old one", e.rootActor(), func(a archive.Actor) error {
				return e.svc.SetPassword(ctx, a, e.root.ID, "mật khẩu mới đủ dài")
			}, ErrForbidden, ReasonSelfChange},
			{"admin edits own display name", e.rootActor(), func(a archive.Actor) error {
				_, err := e.svc.Update(ctx, a, e.root.ID, UserUpdate{DisplayName: ptr("Trưởng phòng Quản trị")})
				return err
			}, nil, ""},
			{"unknown account", e.rootActor(), func(a archive.Actor) error {
				_, err := e.svc.Get(ctx, a, strings.Repeat("ab", 16))
				return err
			}, ErrNotFound, ReasonNotFound},
			{"malformed id", e.rootActor(), func(a archive.Actor) error {
				_, err := e.svc.Get(ctx, a, "../key")
				return err
			}, ErrNotFound, ReasonNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.op(tc.actor)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if tc.want == nil {
					return
				}
				last := e.audit.last()
				if last.Outcome != archive.Denied || last.Reason != string(tc.reason) || last.Actor != tc.actor.Subject.ID {
					t.Errorf("last audit event %+v, want denied with reason %q", last, tc.reason)
				}
			})
		}

		t.Run("list hides accounts above the admin", func(t *testing.T) {
			users, err := e.svc.List(ctx, actor(secretAdmin))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range users {
				names = append(names, u.Username)
			}
			for _, hidden := range []string{rootName, "tuyetmat", "quocphong", "canbo", "admin.cu"} {
				if slices.Contains(names, hidden) {
					t.Errorf("secret admin sees %s in %v", hidden, names)
				}
			}
			for _, seen := range []string{"admin.mat", "thuong", "moi.mat"} {
				if !slices.Contains(names, seen) {
					t.Errorf("secret admin does not see %s in %v", seen, names)
				}
			}
			all, err := e.svc.List(ctx, e.rootActor())
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 8 {
				t.Errorf("root sees %d users, want 8", len(all))
			}
		})
	})
}

func TestCreateSameUsernameConcurrently(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		other := e.node() // a second server node on the same bucket
		ctx := context.Background()
		// The same username, spelt in different cases and normal forms.
		spellings := []string{"nguyễn.văn.a", "Nguyễn.Văn.A", norm.NFD.String("NGUYỄN.VĂN.A"), " nguyễn.văn.a "}
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				s := e.svc
				if i%2 == 1 {
					s = other
				}
				_, errs[i] = s.Create(ctx, e.rootActor(), NewUser{
					Username: spellings[i%len(spellings)], Password: fmt.Sprintf("mật khẩu số %d dài", i),
					DisplayName: "Nguyễn Văn A", Roles: []access.Role{access.Reader}, Clearance: access.Confidential,
				})
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrUsernameTaken) && errors.Is(err, ErrConflict):
			default:
				t.Errorf("creator %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creators won, want exactly 1", won)
		}
		users, err := e.svc.List(ctx, e.rootActor())
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 2 {
			t.Fatalf("%d users stored, want the admin and one more", len(users))
		}
		if got := users[0].Username; got != "nguyễn.văn.a" {
			t.Errorf("username stored as %q", got)
		}
		if got := len(e.audit.find(ActionUserCreate, archive.Failed)); got != n-1 {
			t.Errorf("%d failed user_create events, want %d", got, n-1)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		other := e.node()
		ctx := context.Background()
		u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)

		t.Run("each write lands or conflicts", func(t *testing.T) {
			const n = 12
			var wg sync.WaitGroup
			errs := make([]error, n)
			results := make([]User, n)
			for i := range n {
				wg.Go(func() {
					s := e.svc
					if i%2 == 1 {
						s = other
					}
					results[i], errs[i] = s.Update(ctx, e.rootActor(), u.ID, UserUpdate{DisplayName: ptr(fmt.Sprintf("Tên %d", i))})
				})
			}
			wg.Wait()
			var won []User
			for i, err := range errs {
				switch {
				case err == nil:
					won = append(won, results[i])
				case errors.Is(err, ErrConflict):
				default:
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			if len(won) == 0 {
				t.Fatal("no writer won")
			}
			got, err := e.svc.Get(ctx, e.rootActor(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			// No lost write: the revision counts exactly the winners, and
			// the stored name is the winner's at that revision.
			if got.Revision != u.Revision+uint64(len(won)) {
				t.Errorf("revision %d after %d successful writes from %d", got.Revision, len(won), u.Revision)
			}
			found := false
			for _, w := range won {
				if w.Revision == got.Revision {
					found = w.DisplayName == got.DisplayName
				}
			}
			if !found {
				t.Errorf("stored %q at revision %d matches no successful write", got.DisplayName, got.Revision)
			}
		})

		t.Run("stale IfRevision is a conflict", func(t *testing.T) {
			cur, err := e.svc.Get(ctx, e.rootActor(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Update(ctx, e.rootActor(), u.ID, UserUpdate{OrgUnit: ptr("Ban Tổ chức"), IfRevision: cur.Revision}); err != nil {
				t.Fatal(err)
			}
			_, err = other.Update(ctx, e.rootActor(), u.ID, UserUpdate{OrgUnit: ptr("Ban Tuyên giáo"), IfRevision: cur.Revision})
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			got, _ := e.svc.Get(ctx, e.rootActor(), u.ID)
			if got.OrgUnit != "Ban Tổ chức" {
				t.Errorf("org unit %q", got.OrgUnit)
			}
		})
	})
}

func TestUpdateEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
		before := len(e.audit.all())
		got, err := e.svc.Update(ctx, e.rootActor(), u.ID, UserUpdate{
			DisplayName:  ptr("  Nguyễn Thị B  "),
			Roles:        &[]access.Role{access.Archivist, access.Reader},
			Clearance:    ptr(access.Secret),
			Compartments: &[]string{"Quoc-Phong", "kinh-te"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != "Nguyễn Thị B" || !slices.Equal(got.Roles, []access.Role{access.Reader, access.Archivist}) ||
			got.Clearance != access.Secret || !slices.Equal(got.Compartments, []string{"kinh-te", "quoc-phong"}) {
			t.Errorf("updated to %+v", got)
		}
		events := e.audit.all()[before:]
		var actions []string
		for _, ev := range events {
			actions = append(actions, ev.Action+":"+ev.Reason+":"+ev.Detail)
			if ev.Object != u.ID || ev.Level != access.Confidential || ev.Target != access.Secret || ev.Outcome != archive.Allowed {
				t.Errorf("event %+v", ev)
			}
		}
		want := []string{"role_change:ok:roles=reader,archivist", "clearance_change:ok:compartments=kinh-te,quoc-phong", "user_update:ok:"}
		if !slices.Equal(actions, want) {
			t.Errorf("events %v, want %v", actions, want)
		}
		// Nothing to change: no event, no write.
		n := len(e.audit.all())
		same, err := e.svc.Update(ctx, e.rootActor(), u.ID, UserUpdate{DisplayName: ptr("Nguyễn Thị B")})
		if err != nil || same.Revision != got.Revision || len(e.audit.all()) != n {
			t.Errorf("no-op update: %v, revision %d→%d, %d events", err, got.Revision, same.Revision, len(e.audit.all())-n)
		}
	})
}

func TestValidation(t *testing.T) {
	e := newEnv(t, backends()[0].open(t))
	ctx := context.Background()
	valid := NewUser{Username: "hople", Password: "mật khẩu hợp lệ", DisplayName: "Hợp Lệ",
		Roles: []access.Role{access.Reader}, Clearance: access.Confidential}
	tests := []struct {
		name  string
		edit  func(*NewUser)
		field string
		code  string
	}{
		{"empty username", func(n *NewUser) { n.Username = "  " }, "username", archive.CodeRequired},
		{"short username", func(n *NewUser) { n.Username = "ab" }, "username", archive.CodeInvalid},
		{"long username", func(n *NewUser) { n.Username = strings.Repeat("a", 65) }, "username", archive.CodeTooLong},
		{"username with a space", func(n *NewUser) { n.Username = "nguyen van" }, "username", archive.CodeInvalid},
		{"username with a slash", func(n *NewUser) { n.Username = "a/b/c" }, "username", archive.CodeInvalid},
		{"username starting with a dot", func(n *NewUser) { n.Username = ".abc" }, "username", archive.CodeInvalid},
		{"username not UTF-8", func(n *NewUser) { n.Username = "ab\xffc" }, "username", archive.CodeInvalidUTF8},
		{"reserved username", func(n *NewUser) { n.Username = "System" }, "username", archive.CodeNotAllowed},
		{"short password", func(n *NewUser) { n.Password = "ngắn quá" }, "password", archive.CodeInvalid},
		{"password equal to the username", func(n *NewUser) { n.Username = "nguyenvana.12"; n.Password = "NguyenVanA.12" }, "password", archive.CodeInvalid},
		{"huge password", func(n *NewUser) { n.Password = strings.Repeat("x", MaxPasswordBytes+1) }, "password", archive.CodeTooLong},
		{"no display name", func(n *NewUser) { n.DisplayName = "" }, "display_name", archive.CodeRequired},
		{"control character", func(n *NewUser) { n.DisplayName = "Hợp\u200bLệ" }, "display_name", archive.CodeControlChar},
		{"no role", func(n *NewUser) { n.Roles = nil }, "roles", archive.CodeRequired},
		{"unknown role", func(n *NewUser) { n.Roles = []access.Role{access.Reader, 9} }, "roles[1]", archive.CodeUnknown},
		{"repeated role", func(n *NewUser) { n.Roles = []access.Role{access.Reader, access.Reader} }, "roles[1]", archive.CodeDuplicate},
		{"unknown clearance", func(n *NewUser) { n.Clearance = 7 }, "clearance", archive.CodeUnknown},
		{"bad compartment", func(n *NewUser) { n.Compartments = []string{"kinh tế"} }, "compartments[0]", archive.CodeInvalid},
		{"repeated compartment", func(n *NewUser) { n.Compartments = []string{"kinh-te", "Kinh-Te"} }, "compartments[1]", archive.CodeDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := valid
			tc.edit(&n)
			_, err := e.svc.Create(ctx, e.rootActor(), n)
			var fe FieldErrors
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
				t.Fatalf("got %v, want FieldErrors", err)
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.Code != "invalid" || ie.MessageVI == "" {
				t.Errorf("errors.As *Error: %v", ie)
			}
			for _, f := range fe {
				if f.Field == tc.field && f.Code == tc.code {
					if f.Message == "" || f.MessageVI == "" {
						t.Errorf("%s: messages %q / %q", f.Field, f.Message, f.MessageVI)
					}
					return
				}
			}
			t.Errorf("got %v, want %s %s", fe, tc.field, tc.code)
		})
	}
	t.Run("valid", func(t *testing.T) {
		u, err := e.svc.Create(ctx, e.rootActor(), valid)
		if err != nil {
			t.Fatal(err)
		}
		if !validID(u.ID) || u.Revision != 1 || u.CreatedBy != e.root.ID || !u.CreatedAt.Equal(e.clock.Now()) {
			t.Errorf("created %+v", u)
		}
	})
}

func TestEnsureAdmin(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		r := e.root
		if r.Username != rootName || !slices.Equal(r.Roles, []access.Role{access.Admin}) || r.Clearance != access.TopSecret ||
			!slices.Equal(r.Compartments, testAdminCompartments) || r.CreatedBy != SystemActor {
			t.Errorf("first admin %+v", r)
		}
		ev := e.audit.find(ActionUserCreate, archive.Allowed)
		if len(ev) != 1 || ev[0].Actor != SystemActor || ev[0].Object != r.ID || ev[0].Target != access.TopSecret {
			t.Errorf("bootstrap events %+v", ev)
		}
		for _, name := range []string{rootName, "another"} {
			u, created, err := e.node().EnsureAdmin(ctx, name, "another long password")
			if err != nil || created || u.ID != "" {
				t.Errorf("EnsureAdmin(%s) again: %+v %v %v", name, u, created, err)
			}
		}
		if _, _, _, err := e.svc.Login(ctx, rootName, rootPass, "127.0.0.1"); err != nil {
			t.Errorf("first admin cannot log in: %v", err)
		}
	})
}

func TestEnsureAdminConcurrently(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := &env{t: t, store: st, clock: &fakeClock{}, audit: &recorder{okLeft: -1}}
		keys, err := newTestKeyring()
		if err != nil {
			t.Fatal(err)
		}
		e.cfg = Config{Store: st, Keys: keys, Audit: e.audit, Argon2: cheapArgon2, Clock: e.clock.Now}
		var wg sync.WaitGroup
		created := make([]bool, 6)
		errs := make([]error, 6)
		for i := range created {
			node := e.node() // nodes start at once on an empty bucket
			wg.Go(func() {
				_, created[i], errs[i] = node.EnsureAdmin(context.Background(), "admin", "mật khẩu đầu tiên")
			})
		}
		wg.Wait()
		n := 0
		for i := range created {
			if errs[i] != nil {
				t.Errorf("node %d: %v", i, errs[i])
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d nodes created the admin", n)
		}
	})
}

func TestOrphanedReservation(t *testing.T) {
	e := newEnv(t, backends()[0].open(t))
	ctx := context.Background()
	// A Create that stopped after reserving the name: the index points to
	// an id with no record.
	if err := e.svc.reserveName(ctx, "bo.do", strings.Repeat("0f", 16), ""); err != nil {
		t.Fatal(err)
	}
	n := NewUser{Username: "bo.do", Password: "mật khẩu bỏ dở", DisplayName: "Bỏ Dở",
		Roles: []access.Role{access.Reader}, Clearance: access.Unclassified}
	if _, err := e.svc.Create(ctx, e.rootActor(), n); !errors.Is(err, ErrUsernameTaken) {
		t.Fatalf("within the grace period: %v", err)
	}
	e.clock.t = time.Now().Add(orphanGrace + time.Minute) // the store's times are real ones
	u, err := e.svc.Create(ctx, e.rootActor(), n)
	if err != nil {
		t.Fatalf("after the grace period: %v", err)
	}
	if _, _, _, err := e.svc.Login(ctx, "bo.do", "mật khẩu bỏ dở", ""); err != nil {
		t.Errorf("login after the takeover: %v", err)
	}
	if id, _, err := e.svc.lookupName(ctx, "bo.do"); err != nil || id != u.ID {
		t.Errorf("index → %s %v, want %s", id, err, u.ID)
	}
}
