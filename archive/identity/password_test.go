package identity

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"khomat/archive/access"
	"khomat/crypto"
)

func TestPasswordHash(t *testing.T) {
	rand := bytes.NewReader(bytes.Repeat([]byte{7}, 16))
	h, err := hashPassword("mật khẩu", cheapArgon2, rand)
	if err != nil {
		t.Fatal(err)
	}
	const want = "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$"
	if !strings.HasPrefix(h, want) {
		t.Fatalf("hash %s, want prefix %s", h, want)
	}
	ok, stale, err := verifyPassword("mật khẩu", h, cheapArgon2)
	if !ok || stale || err != nil {
		t.Errorf("right password: %v %v %v", ok, stale, err)
	}
	ok, _, err = verifyPassword("mật khẩu.", h, cheapArgon2)
	if ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	if _, stale, _ := verifyPassword("mật khẩu", h, DefaultArgon2Params()); !stale {
		t.Error("other parameters not reported stale")
	}

	sum := h[strings.LastIndexByte(h, '$')+1:]
	bad := []struct{ name, hash string }{
		{"empty", ""},
		{"argon2i", strings.Replace(h, "argon2id", "argon2i", 1)},
		{"other version", strings.Replace(h, "v=19", "v=16", 1)},
		{"parameters reordered", strings.Replace(h, "m=64,t=1,p=1", "t=1,m=64,p=1", 1)},
		{"leading zero", strings.Replace(h, "m=64", "m=064", 1)},
		{"huge memory", strings.Replace(h, "m=64", "m=99999999", 1)},
		{"zero time", strings.Replace(h, "t=1", "t=0", 1)},
		{"too many lanes", strings.Replace(h, "p=1", "p=300", 1)},
		{"padded salt", strings.Replace(h, "BwcHBwcHBwcHBwcHBwcHBw", "BwcHBwcHBwcHBwcHBwcHBw==", 1)},
		{"short hash", strings.TrimSuffix(h, sum) + sum[:20]},
		{"extra field", h + "$x"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := verifyPassword("mật khẩu", tc.hash, cheapArgon2); !errors.Is(err, errHashFormat) {
				t.Errorf("got %v", err)
			}
		})
	}
}

// TestDefaultParameters runs a login with the default Argon2id parameters.
func TestDefaultParameters(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(c *Config) { c.Argon2 = Argon2Params{} })
	if e.svc.params != DefaultArgon2Params() {
		t.Fatalf("parameters %+v", e.svc.params)
	}
	rec, _, err := e.svc.loadUser(context.Background(), e.root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %s", rec.PasswordHash)
	}
	if _, _, _, err := e.svc.Login(context.Background(), rootName, rootPass, ""); err != nil {
		t.Fatal(err)
	}
}

// TestRehash changes the parameters: the next login rehashes, without
// ending sessions or writing an audit event.
func TestRehash(t *testing.T) {
	e := newEnv(t, backends()[0].open(t))
	ctx := context.Background()
	u := e.mustCreate("canbo", []access.Role{access.Reader}, access.Confidential)
	tok, _ := e.login(e.svc, "canbo")
	stronger := Argon2Params{Time: 2, MemoryKiB: 128, Threads: 1}
	e.cfg.Argon2 = stronger
	s := e.node()
	events := len(e.audit.all())
	if _, _, _, err := s.Login(ctx, "canbo", passwordOf("canbo"), ""); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.loadUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") || rec.Revision != u.Revision+1 {
		t.Errorf("after login: %s, revision %d", rec.PasswordHash, rec.Revision)
	}
	if got := len(e.audit.all()) - events; got != 1 { // the login only
		t.Errorf("%d events", got)
	}
	if _, _, err := s.Authenticate(ctx, tok); err != nil {
		t.Errorf("session ended by a rehash: %v", err)
	}
	if _, _, _, err := e.svc.Login(ctx, "canbo", passwordOf("canbo"), ""); err != nil {
		t.Errorf("old node: %v", err)
	}
}

func TestConfig(t *testing.T) {
	e := newEnv(t, backends()[0].open(t))
	bad := []struct {
		name string
		mod  func(*Config)
	}{
		{"no store", func(c *Config) { c.Store = nil }},
		{"no keys", func(c *Config) { c.Keys = nil }},
		{"no audit", func(c *Config) { c.Audit = nil }},
		{"argon2 memory", func(c *Config) { c.Argon2 = Argon2Params{Time: 1, MemoryKiB: 2 << 20, Threads: 1} }},
		{"argon2 lanes", func(c *Config) { c.Argon2 = Argon2Params{Time: 1, MemoryKiB: 64} }},
		{"short passwords", func(c *Config) { c.MinPasswordLen = 6 }},
		{"touch longer than idle", func(c *Config) {
			c.Sessions = SessionConfig{IdleTimeout: 60e9, TouchInterval: 40e9}
		}},
		{"forget shorter than lockout", func(c *Config) { c.Throttle = ThrottleConfig{MaxDelay: 3600e9, Forget: 60e9} }},
		{"bad compartment", func(c *Config) { c.AdminCompartments = []string{"Kinh tế"} }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.cfg
			tc.mod(&cfg)
			if s, err := Open(context.Background(), cfg); err == nil {
				s.Close()
				t.Error("opened")
			}
		})
	}
}

// TestRewrapKey rotates the Tuyệt mật KEK: after RewrapKey the old version
// can be retired and the accounts still open.
func TestRewrapKey(t *testing.T) {
	e := newEnv(t, backends()[0].open(t))
	ctx := context.Background()
	if _, err := e.keys.Rotate(crypto.TopSecret, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RewrapKey(ctx); err != nil {
		t.Fatal(err)
	}
	env, err := readObject(ctx, e.store, keyObject)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := crypto.ParseEnvelope(env); err != nil || info.KEKVersion != 2 || info.Level != crypto.TopSecret {
		t.Fatalf("envelope %+v %v", info, err)
	}
	if err := e.keys.Retire(crypto.TopSecret, 1, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.node().Login(ctx, rootName, rootPass, ""); err != nil {
		t.Errorf("login after the rotation: %v", err)
	}
}
