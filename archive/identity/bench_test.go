package identity

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"khomat/archive/access"
	"khomat/archive/store"
)

// Reproduce with (docs/BENCHMARKS.md, "Identity"):
//
//	./scripts/with-minio.sh go test -run='^$' -bench=. -benchmem -count=5 ./archive/identity/

func forEachBenchStore(b *testing.B, fn func(b *testing.B, st store.Store)) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) { fn(b, be.open(b)) })
	}
}

// BenchmarkLogin is a successful login with the default Argon2id
// parameters: two reads (username index, user record), one hash, one audit
// event (in memory here) and one session write.
func BenchmarkLogin(b *testing.B) {
	forEachBenchStore(b, func(b *testing.B, st store.Store) {
		e := newEnv(b, st, func(c *Config) { c.Argon2 = DefaultArgon2Params() })
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if _, _, _, err := e.svc.Login(ctx, rootName, rootPass, "10.0.0.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkArgon2id is the bare hash with the default parameters, the floor
// under every login: Login's figures are read against it.
func BenchmarkArgon2id(b *testing.B) {
	p := DefaultArgon2Params()
	salt := make([]byte, passwordSaltLen)
	for b.Loop() {
		argon2.IDKey([]byte(rootPass), salt, p.Time, p.MemoryKiB, p.Threads, passwordHashLen)
	}
}

// BenchmarkLoginFailure compares the two failures a client could try to
// tell apart: a wrong password for an account that exists, and a username
// that does not exist. Each iteration runs both, in random order, so the
// machine's load and the garbage collector's rhythm weigh on both alike; the
// metrics are the mean of each and their ratio. With the default parameters the hash dominates; with the
// cheapest ones ("cheap") what is left is the store and decoding work.
func BenchmarkLoginFailure(b *testing.B) {
	for _, params := range []struct {
		name string
		p    Argon2Params
	}{{"default", DefaultArgon2Params()}, {"cheap", Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1}}} {
		b.Run(params.name, func(b *testing.B) {
			forEachBenchStore(b, func(b *testing.B, st store.Store) {
				e := newEnv(b, st, func(c *Config) {
					c.Argon2 = params.p
					c.Throttle = ThrottleConfig{UserFree: 1 << 30, AddrFree: 1 << 30}
				})
				ctx := context.Background()
				fail := func(user string) time.Duration {
					start := time.Now()
					if _, _, _, err := e.svc.Login(ctx, user, "mật khẩu sai hoàn toàn", "10.0.0.1"); err != ErrBadCredentials {
						b.Fatal(err)
					}
					return time.Since(start)
				}
				var wrong, unknown time.Duration
				n := 0
				for b.Loop() {
					if rand.IntN(2) == 0 {
						wrong += fail(rootName)
						unknown += fail("khongco")
					} else {
						unknown += fail("khongco")
						wrong += fail(rootName)
					}
					n++
				}
				b.ReportMetric(float64(wrong.Nanoseconds())/float64(n), "wrong-ns/op")
				b.ReportMetric(float64(unknown.Nanoseconds())/float64(n), "unknown-ns/op")
				b.ReportMetric(float64(unknown)/float64(wrong), "unknown/wrong")
			})
		})
	}
}

// BenchmarkAuthenticate checks a token against a fresh cache: no store
// access. The parallel form runs on every core.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b, backends()[0].open(b))
	ctx := context.Background()
	e.mustCreate("canbo", []access.Role{access.Reader}, access.Secret, "kinh-te")
	tok, _ := e.login(e.svc, "canbo")
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkAuthenticateRecheck checks a token with Recheck < 0: every call
// rereads the session and stats the user, the cost a node pays when it
// trusts nothing it has cached.
func BenchmarkAuthenticateRecheck(b *testing.B) {
	forEachBenchStore(b, func(b *testing.B, st store.Store) {
		e := newEnv(b, st, func(c *Config) { c.Sessions.Recheck = -1 })
		ctx := context.Background()
		e.mustCreate("canbo", []access.Role{access.Reader}, access.Secret)
		tok, _ := e.login(e.svc, "canbo")
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, _, err := e.svc.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
