package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

func TestLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Secret, "kinh-te")
		off := e.mustCreate("nghiviec", []access.Role{access.Reader}, access.Secret)
		if _, err := e.svc.Disable(ctx, e.rootActor(), off.ID); err != nil {
			t.Fatal(err)
		}

		t.Run("success", func(t *testing.T) {
			// Any case, NFC or NFD, surrounding space: one username.
			tok, sess, got, err := e.svc.Login(ctx, " CanBo ", passwordOf("canbo"), "10.1.1.1")
			if err != nil {
				t.Fatal(err)
			}
			if len(tok) != TokenLen || got.ID != u.ID || sess.UserID != u.ID || sess.ClientAddr != "10.1.1.1" {
				t.Errorf("token %q session %+v user %+v", tok, sess, got)
			}
			if !sess.ExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) || !sess.IdleExpiresAt.Equal(e.clock.Now().Add(30*time.Minute)) {
				t.Errorf("expiry %v / %v", sess.ExpiresAt, sess.IdleExpiresAt)
			}
			last := e.audit.last()
			if last.Action != ActionLogin || last.Outcome != archive.Allowed || last.Actor != u.ID || last.ClientIP != "10.1.1.1" {
				t.Errorf("audit %+v", last)
			}
			au, as, err := e.svc.Authenticate(ctx, tok)
			if err != nil || au.ID != u.ID || as.ID != sess.ID {
				t.Errorf("Authenticate: %+v %+v %v", au, as, err)
			}
			if sub := au.Subject(); sub.ID != u.ID || sub.Clearance != access.Secret || !sub.Has(access.Reader) {
				t.Errorf("subject %+v", sub)
			}
		})

		tests := []struct {
			name, username, password, reason string
		}{
			{"wrong password", "canbo", "mật khẩu sai hoàn toàn", ReasonBadPassword},
			{"unknown user", "khongco", "mật khẩu sai hoàn toàn", ReasonUnknownUser},
			{"disabled user with the right password", "nghiviec", passwordOf("nghiviec"), ReasonDisabled},
			{"invalid username", "a/../b", "mật khẩu sai hoàn toàn", ReasonInvalidUsername},
			{"empty", "", "", ReasonInvalidUsername},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tok, _, _, err := e.svc.Login(ctx, tc.username, tc.password, "10.2.2.2")
				if err != ErrBadCredentials || tok != "" {
					t.Fatalf("got %q, %v; want exactly ErrBadCredentials", tok, err)
				}
				last := e.audit.last()
				if last.Action != ActionLoginFailed || last.Outcome != archive.Denied || last.Reason != tc.reason {
					t.Errorf("audit %+v, want reason %s", last, tc.reason)
				}
			})
		}
	})
}

func TestSessionsEnd(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		other := e.node() // trusts its cache for Recheck (an hour here)
		changes := []struct {
			name   string
			change func(id string) error
		}{
			{"disable", func(id string) error { _, err := e.svc.Disable(ctx, e.rootActor(), id); return err }},
			{"role change", func(id string) error {
				_, err := e.svc.Update(ctx, e.rootActor(), id, UserUpdate{Roles: &[]access.Role{access.Archivist}})
				return err
			}},
			{"clearance change", func(id string) error {
				_, err := e.svc.Update(ctx, e.rootActor(), id, UserUpdate{Clearance: ptr(access.Unclassified)})
				return err
			}},
			{"compartment change", func(id string) error {
				_, err := e.svc.Update(ctx, e.rootActor(), id, UserUpdate{Compartments: &[]string{}})
				return err
			}},
			{"password reset", func(id string) error {
				return e.svc.SetPassword(ctx, e.rootActor(), id, "mật khẩu được đặt lại")
			}},
			{"admin ends sessions", func(id string) error { return e.svc.EndSessions(ctx, e.rootActor(), id) }},
		}
		for i, tc := range changes {
			t.Run(tc.name, func(t *testing.T) {
				name := "canbo" + string(rune('a'+i))
				u := e.mustCreate(name, []access.Role{access.Reader}, access.Confidential, "kinh-te")
				tok1, _ := e.login(e.svc, name)
				tok2, _ := e.login(other, name)
				for _, s := range []*Service{e.svc, other} {
					for _, tok := range []string{tok1, tok2} {
						if _, _, err := s.Authenticate(ctx, tok); err != nil {
							t.Fatalf("before: %v", err)
						}
					}
				}
				if err := tc.change(u.ID); err != nil {
					t.Fatal(err)
				}
				// At once on the node that made the change, for both
				// sessions (whichever node opened them).
				for _, tok := range []string{tok1, tok2} {
					if _, _, err := e.svc.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
						t.Errorf("same node: %v", err)
					}
				}
				// The other node trusts its cache until Recheck.
				e.clock.Advance(time.Hour)
				for _, tok := range []string{tok1, tok2} {
					if _, _, err := other.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
						t.Errorf("other node after Recheck: %v", err)
					}
				}
				e.clock.Advance(-time.Hour)
			})
		}
		t.Run("a new login works after a change, on every node", func(t *testing.T) {
			u := e.mustCreate("danghoat", []access.Role{access.Reader}, access.Confidential)
			old, _ := e.login(e.svc, "danghoat")
			if _, _, err := other.Authenticate(ctx, old); err != nil { // other caches the user
				t.Fatal(err)
			}
			if _, err := e.svc.Update(ctx, e.rootActor(), u.ID, UserUpdate{Roles: &[]access.Role{access.Archivist}}); err != nil {
				t.Fatal(err)
			}
			tok, _ := e.login(e.svc, "danghoat")
			for _, s := range []*Service{e.svc, other, e.svc} {
				got, _, err := s.Authenticate(ctx, tok)
				if err != nil || !got.Subject().Has(access.Archivist) {
					t.Errorf("%+v %v", got, err)
				}
			}
			// The other node, now knowing the new epoch, refuses the old
			// session at once.
			if _, _, err := other.Authenticate(ctx, old); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("old session on the other node: %v", err)
			}
		})
	})
}

func TestTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.Sessions = SessionConfig{IdleTimeout: 10 * time.Minute, MaxLifetime: time.Hour, Recheck: time.Second, TouchInterval: time.Minute}
		})
		ctx := context.Background()
		other := e.node()
		e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
		random := func() string {
			b := make([]byte, 32)
			rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		tests := []struct {
			name  string
			token func(t *testing.T) string
			node  *Service
		}{
			{"empty", func(*testing.T) string { return "" }, e.svc},
			{"malformed", func(*testing.T) string { return "not a token" }, e.svc},
			{"padded", func(*testing.T) string { return random() + "=" }, e.svc},
			{"forged", func(*testing.T) string { return random() }, e.svc},
			{"one character changed", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				c := byte('A')
				if tok[5] == 'A' {
					c = 'B'
				}
				return tok[:5] + string(c) + tok[6:]
			}, e.svc},
			{"logged out", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				if err := e.svc.Logout(ctx, tok, "10.0.0.9"); err != nil {
					t.Fatal(err)
				}
				return tok
			}, e.svc},
			{"logged out on another node", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				if _, _, err := other.Authenticate(ctx, tok); err != nil {
					t.Fatal(err)
				}
				if err := e.svc.Logout(ctx, tok, "10.0.0.9"); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(2 * time.Second) // past Recheck
				return tok
			}, other},
			{"idle too long", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				e.clock.Advance(10 * time.Minute)
				return tok
			}, e.svc},
			{"idle too long, seen by another node", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				e.clock.Advance(10 * time.Minute)
				return tok
			}, other},
			{"past the maximum lifetime though in use", func(t *testing.T) string {
				tok, _ := e.login(e.svc, "canbo")
				for range 11 {
					e.clock.Advance(5 * time.Minute)
					if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
						t.Fatalf("while in use: %v", err)
					}
				}
				e.clock.Advance(5 * time.Minute) // an hour since login
				return tok
			}, e.svc},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tok := tc.token(t)
				u, s, err := tc.node.Authenticate(ctx, tok)
				if !errors.Is(err, ErrUnauthenticated) || u.ID != "" || s.ID != "" {
					t.Fatalf("got %+v %+v %v, want ErrUnauthenticated", u, s, err)
				}
			})
		}

		t.Run("use keeps a session alive on every node", func(t *testing.T) {
			tok, _ := e.login(e.svc, "canbo")
			// Used every 4 minutes on one node for 40 minutes: the other
			// node sees the uses written back (TouchInterval) and keeps it.
			for range 10 {
				e.clock.Advance(4 * time.Minute)
				if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(4 * time.Minute)
			if _, s, err := other.Authenticate(ctx, tok); err != nil {
				t.Fatalf("other node: %v", err)
			} else if !s.LastSeenAt.Equal(e.clock.Now()) {
				t.Errorf("last seen %v", s.LastSeenAt)
			}
		})

		t.Run("logout is audited and a second logout fails", func(t *testing.T) {
			tok, u := e.login(e.svc, "canbo")
			if err := e.svc.Logout(ctx, tok, "10.0.0.9"); err != nil {
				t.Fatal(err)
			}
			last := e.audit.last()
			if last.Action != ActionLogout || last.Actor != u.ID || last.Outcome != archive.Allowed {
				t.Errorf("audit %+v", last)
			}
			if err := e.svc.Logout(ctx, tok, "10.0.0.9"); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("second logout: %v", err)
			}
		})
	})
}

func TestSweepSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		a := e.mustCreate("canbo.a", []access.Role{access.Reader}, access.Confidential)
		e.mustCreate("canbo.b", []access.Role{access.Reader}, access.Confidential)
		e.login(e.svc, "canbo.a")
		e.login(e.svc, "canbo.a")
		keep, _ := e.login(e.svc, "canbo.b")
		if _, err := e.svc.Disable(ctx, e.rootActor(), a.ID); err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.SweepSessions(ctx)
		if err != nil || n != 2 {
			t.Fatalf("swept %d, %v; want 2", n, err)
		}
		if _, _, err := e.svc.Authenticate(ctx, keep); err != nil {
			t.Fatalf("live session swept: %v", err)
		}
		e.clock.Advance(31 * time.Minute)
		if n, err := e.svc.SweepSessions(ctx); err != nil || n != 1 {
			t.Fatalf("swept %d, %v; want the idle one", n, err)
		}
		for _, err := range st.List(ctx, sessionPrefix, "") {
			if err != nil {
				t.Fatal(err)
			}
			t.Error("a session is left")
		}
	})
}

func TestChangePassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
		tok, _ := e.login(e.svc, "canbo")
		me := actor(u)
		if err := e.svc.ChangePassword(ctx, me, "mật khẩu sai hoàn toàn", "mật khẩu mới của tôi"); err != ErrBadCredentials {
			t.Fatalf("wrong old password: %v", err)
		}
		var fe FieldErrors
		if err := e.svc.ChangePassword(ctx, me, passwordOf("canbo"), "ngắn"); !errors.As(err, &fe) {
			t.Fatalf("short new password: %v", err)
		}
		if err := e.svc.ChangePassword(ctx, me, passwordOf("canbo"), "mật khẩu mới của tôi"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("session survived a password change: %v", err)
		}
		if _, _, _, err := e.svc.Login(ctx, "canbo", passwordOf("canbo"), ""); err != ErrBadCredentials {
			t.Errorf("old password: %v", err)
		}
		if _, _, _, err := e.svc.Login(ctx, "canbo", "mật khẩu mới của tôi", ""); err != nil {
			t.Errorf("new password: %v", err)
		}
		if ev := e.audit.find(ActionPasswordSet, archive.Allowed); len(ev) != 1 || ev[0].Actor != u.ID || ev[0].Object != u.ID {
			t.Errorf("events %+v", ev)
		}
	})
}

func TestThrottle(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.Throttle = ThrottleConfig{UserFree: 3, AddrFree: 6, BaseDelay: time.Minute, MaxDelay: 4 * time.Minute, Forget: time.Hour}
		})
		ctx := context.Background()
		e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
		login := func(name, pw, addr string) error {
			_, _, _, err := e.svc.Login(ctx, name, pw, addr)
			return err
		}
		retryAfter := func(err error) time.Duration {
			var te *ThrottledError
			if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) {
				t.Fatalf("got %v, want a ThrottledError", err)
			}
			return te.RetryAfter
		}

		t.Run("per user, doubling, then over", func(t *testing.T) {
			for i := range 3 {
				if err := login("canbo", "sai mật khẩu lần "+string(rune('0'+i)), "10.3.0."+string(rune('1'+i))); err != ErrBadCredentials {
					t.Fatalf("free failure %d: %v", i, err)
				}
			}
			// The fourth failure locks the user out for a minute: even the
			// right password from a new address is refused, unchecked.
			if err := login("canbo", "sai lần thứ tư", "10.3.0.9"); err != ErrBadCredentials {
				t.Fatal(err)
			}
			if d := retryAfter(login("canbo", passwordOf("canbo"), "10.3.1.1")); d != time.Minute {
				t.Errorf("retry after %v, want 1m", d)
			}
			if last := e.audit.last(); last.Reason != ReasonThrottled || last.Action != ActionLoginFailed {
				t.Errorf("audit %+v", last)
			}
			e.clock.Advance(time.Minute)
			if err := login("canbo", "sai lần thứ năm", "10.3.0.9"); err != ErrBadCredentials {
				t.Fatal(err)
			}
			if d := retryAfter(login("canbo", passwordOf("canbo"), "10.3.1.1")); d != 2*time.Minute {
				t.Errorf("retry after %v, want 2m", d)
			}
			e.clock.Advance(2 * time.Minute)
			if err := login("canbo", passwordOf("canbo"), "10.3.1.1"); err != nil {
				t.Fatalf("after the lockout: %v", err)
			}
			// A success clears the user's count.
			if err := login("canbo", "sai sau khi đúng", "10.3.1.2"); err != ErrBadCredentials {
				t.Fatal(err)
			}
			if err := login("canbo", passwordOf("canbo"), "10.3.1.2"); err != nil {
				t.Fatalf("count not cleared: %v", err)
			}
		})

		t.Run("unknown users are throttled alike", func(t *testing.T) {
			for range 4 {
				if err := login("khongco", "mật khẩu bất kỳ", "10.4.0.1"); err != ErrBadCredentials {
					t.Fatal(err)
				}
			}
			if d := retryAfter(login("khongco", "mật khẩu bất kỳ", "10.4.0.2")); d != time.Minute {
				t.Errorf("retry after %v", d)
			}
		})

		t.Run("per address across usernames", func(t *testing.T) {
			for i := range 7 {
				if err := login("doan"+string(rune('a'+i)), "mật khẩu đoán mò", "10.5.0.1"); err != ErrBadCredentials {
					t.Fatalf("guess %d: %v", i, err)
				}
			}
			retryAfter(login("canbo", passwordOf("canbo"), "10.5.0.1"))
			if err := login("canbo", passwordOf("canbo"), "10.5.0.2"); err != nil {
				t.Errorf("another address: %v", err)
			}
		})

		t.Run("counts are forgotten", func(t *testing.T) {
			e.clock.Advance(time.Hour)
			for _, addr := range []string{"10.4.0.1", "10.5.0.1"} {
				if err := login("canbo", passwordOf("canbo"), addr); err != nil {
					t.Errorf("%s: %v", addr, err)
				}
			}
			if err := login("khongco", "mật khẩu bất kỳ", "10.4.0.3"); err != ErrBadCredentials {
				t.Errorf("khongco: %v", err)
			}
		})
	})
}

func TestThrottleBounded(t *testing.T) {
	th, err := newThrottle(ThrottleConfig{MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		now = now.Add(time.Second)
		th.fail(now, userThrottleKey(strings.Repeat("x", i%50)+string(rune(i))))
	}
	if len(th.entries) > 100 {
		t.Errorf("%d entries kept", len(th.entries))
	}
}

func TestSessionCacheBounded(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(c *Config) { c.Sessions.MaxCached = 4 })
	ctx := context.Background()
	e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
	var toks []string
	for range 10 {
		tok, _ := e.login(e.svc, "canbo")
		toks = append(toks, tok)
	}
	for _, tok := range toks {
		if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.svc.sessions); n > 4 {
		t.Errorf("%d sessions cached", n)
	}
}

func TestChangePasswordThrottled(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(c *Config) {
		c.Throttle = ThrottleConfig{UserFree: 2, BaseDelay: time.Minute, MaxDelay: time.Minute}
	})
	ctx := context.Background()
	u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
	for range 3 {
		if err := e.svc.ChangePassword(ctx, actor(u), "đoán mật khẩu cũ", "mật khẩu mới của tôi"); err != ErrBadCredentials {
			t.Fatal(err)
		}
	}
	err := e.svc.ChangePassword(ctx, actor(u), passwordOf("canbo"), "mật khẩu mới của tôi")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Minute || !strings.Contains(err.Error(), "retry after 1m0s") {
		t.Fatalf("got %v", err)
	}
	if last := e.audit.last(); last.Action != ActionPasswordSet || last.Reason != ReasonThrottled || last.Outcome != archive.Denied {
		t.Errorf("audit %+v", last)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.ChangePassword(ctx, actor(u), passwordOf("canbo"), "mật khẩu mới của tôi"); err != nil {
		t.Fatal(err)
	}
}
