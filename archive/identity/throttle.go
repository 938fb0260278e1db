package identity

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// ThrottleConfig sets the lockout after failed logins. Failures are counted
// per username (whether or not the account exists, so the lockout says
// nothing about which usernames exist) and per client address. After Free
// failures, each further failure locks the key out for BaseDelay, doubling
// with every failure up to MaxDelay. A success clears the username's count,
// not the address's. Counts are forgotten Forget after the last failure.
// Counts live in the memory of each node: with n nodes behind a balancer an
// attacker gets up to n times the attempts (docs/SECURITY.md).
type ThrottleConfig struct {
	// UserFree is the number of failures per username before lockouts
	// start; zero means 5.
	UserFree int
	// AddrFree is the same per client address; zero means 20 (offices
	// share addresses behind NAT).
	AddrFree int
	// BaseDelay is the first lockout; zero means 30 seconds.
	BaseDelay time.Duration
	// MaxDelay is the longest lockout; zero means 15 minutes.
	MaxDelay time.Duration
	// Forget clears a count this long after its last failure; zero means
	// one hour. It must be at least MaxDelay.
	Forget time.Duration
	// MaxEntries bounds the usernames and addresses tracked; zero means
	// 100 000. When full, the entries idle longest are dropped.
	MaxEntries int
}

func (c *ThrottleConfig) setDefaults() error {
	if c.UserFree == 0 {
		c.UserFree = 5
	}
	if c.AddrFree == 0 {
		c.AddrFree = 20
	}
	if c.BaseDelay == 0 {
		c.BaseDelay = 30 * time.Second
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 15 * time.Minute
	}
	if c.Forget == 0 {
		c.Forget = time.Hour
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = 100_000
	}
	switch {
	case c.UserFree < 0 || c.AddrFree < 0 || c.BaseDelay < 0 || c.MaxDelay < c.BaseDelay || c.MaxEntries < 0:
		return errors.New("throttle: negative setting, or MaxDelay below BaseDelay")
	case c.Forget < c.MaxDelay:
		return errors.New("throttle: Forget is shorter than MaxDelay")
	}
	return nil
}

// throttle counts failures per key. Keys are "u:" + canonical username and
// "a:" + client address.
type throttle struct {
	cfg     ThrottleConfig
	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	count int
	last  time.Time
}

func newThrottle(cfg ThrottleConfig) (*throttle, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &throttle{cfg: cfg, entries: make(map[string]*failures)}, nil
}

func userThrottleKey(canonical string) string { return "u:" + canonical }

func addrThrottleKey(addr string) string {
	if addr == "" {
		return ""
	}
	return "a:" + addr
}

func (t *throttle) free(key string) int {
	if key[0] == 'a' {
		return t.cfg.AddrFree
	}
	return t.cfg.UserFree
}

// lockedFor returns how long key stays locked at now (0 if it is not).
func (t *throttle) lockedFor(key string, f *failures, now time.Time) time.Duration {
	over := f.count - t.free(key)
	if over <= 0 || now.Sub(f.last) >= t.cfg.Forget {
		return 0
	}
	d := t.cfg.MaxDelay
	if over <= 30 {
		d = min(t.cfg.MaxDelay, t.cfg.BaseDelay<<(over-1))
		if d <= 0 { // overflow
			d = t.cfg.MaxDelay
		}
	}
	return max(0, f.last.Add(d).Sub(now))
}

// wait returns how long until every one of keys may try again (0 now).
// Empty keys are skipped.
func (t *throttle) wait(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var w time.Duration
	for _, k := range keys {
		if f, ok := t.entries[k]; k != "" && ok {
			w = max(w, t.lockedFor(k, f, now))
		}
	}
	return w
}

// fail counts a failure against each of keys.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if k == "" {
			continue
		}
		f, ok := t.entries[k]
		if !ok {
			if len(t.entries) >= t.cfg.MaxEntries {
				t.prune(now)
			}
			f = &failures{}
			t.entries[k] = f
		}
		if now.Sub(f.last) >= t.cfg.Forget {
			f.count = 0
		}
		f.count++
		f.last = now
	}
}

// succeed clears key's count.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// prune drops forgotten entries and, if that is not enough, the tenth
// that failed longest ago: an attack in progress keeps its entries recent.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.entries {
		if now.Sub(f.last) >= t.cfg.Forget {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < t.cfg.MaxEntries {
		return
	}
	type aged struct {
		key  string
		last time.Time
	}
	all := make([]aged, 0, len(t.entries))
	for k, f := range t.entries {
		all = append(all, aged{k, f.last})
	}
	slices.SortFunc(all, func(a, b aged) int { return a.last.Compare(b.last) })
	for _, e := range all[:max(1, len(all)/10)] {
		delete(t.entries, e.key)
	}
}
