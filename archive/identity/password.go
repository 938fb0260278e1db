package identity

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the Argon2id parameters of new password hashes. Each hash
// records the parameters it was made with, so changing them does not break
// old hashes: a successful login rehashes with the new ones.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultArgon2Params returns t=3, m=64 MiB, p=2: RFC 9106's second
// recommended option (t=3, m=64 MiB) with two lanes for the two cores of the
// reference machine, about 75 ms per login there (docs/BENCHMARKS.md).
// Logins are rare next to requests, which use sessions; Config.MaxHashing
// bounds how many run at once, and so the memory they take.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 64 << 10, Threads: 2}
}

// Bounds on Argon2id parameters, checked in the configuration and in every
// stored hash: a hash cannot make the server allocate more than 1 GiB or spin
// for long.
const (
	maxArgon2Time    = 20
	maxArgon2Memory  = 1 << 20 // KiB
	maxArgon2Threads = 16
	passwordSaltLen  = 16
	passwordHashLen  = 32
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id time %d outside 1..%d", p.Time, maxArgon2Time)
	case p.Threads < 1 || p.Threads > maxArgon2Threads:
		return fmt.Errorf("argon2id threads %d outside 1..%d", p.Threads, maxArgon2Threads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2Memory:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxArgon2Memory)
	}
	return nil
}

// errHashFormat: a stored hash is not one this package wrote.
var errHashFormat = errors.New("malformed password hash")

// hashPassword returns the PHC string of pw under p with a fresh salt:
// "$argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash>", salt and hash
// in unpadded standard base64 (docs/FORMAT.md, "Identity records").
func hashPassword(pw string, p Argon2Params, rand io.Reader) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("reading a random salt: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, passwordHashLen)
	return encodeHash(p, salt, sum), nil
}

func encodeHash(p Argon2Params, salt, sum []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// parseHash reads a PHC string written by hashPassword. Only the exact form
// hashPassword writes is accepted, with parameters within bounds.
func parseHash(s string) (p Argon2Params, salt, sum []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errHashFormat
	}
	var m, t, th uint64
	for i, kv := range strings.Split(parts[3], ",") {
		name, value, ok := strings.Cut(kv, "=")
		want := [...]string{"m", "t", "p"}
		if !ok || i >= len(want) || name != want[i] {
			return p, nil, nil, errHashFormat
		}
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return p, nil, nil, errHashFormat
		}
		switch name {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		}
	}
	if th > maxArgon2Threads {
		return p, nil, nil, errHashFormat
	}
	p = Argon2Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th)}
	if p.validate() != nil {
		return p, nil, nil, errHashFormat
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err1 := b64.DecodeString(parts[4])
	sum, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) != passwordSaltLen || len(sum) != passwordHashLen {
		return p, nil, nil, errHashFormat
	}
	if encodeHash(p, salt, sum) != s {
		return p, nil, nil, errHashFormat // one hash, one spelling
	}
	return p, salt, sum, nil
}

// verifyPassword reports whether pw matches the PHC string, in time that
// depends on the hash's parameters only, and whether the hash was made with
// parameters other than want (so should be remade).
func verifyPassword(pw, phc string, want Argon2Params) (ok, stale bool, err error) {
	p, salt, sum, err := parseHash(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, passwordHashLen)
	return subtle.ConstantTimeCompare(got, sum) == 1, p != want, nil
}
