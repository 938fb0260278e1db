package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"khomat/archive/access"
)

// fakeClock is a clock tests move by hand; each reading advances it by a
// millisecond.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testOptions(clock *fakeClock) Options {
	return Options{
		Node:               "node1",
		CheckpointEvery:    10,
		CheckpointInterval: time.Hour,
		SegmentAge:         1000 * time.Hour,
		Clock:              clock.now,
		Tick:               time.Hour,
	}
}

func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func closeLog(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// sampleEvent is event i of a synthetic stream: a few actors reading,
// downloading and being denied documents of every level.
func sampleEvent(i int) Event {
	actions := []string{"read", "download", "view_metadata", "create", ActionSearch}
	outcomes := []Outcome{Allowed, Allowed, Allowed, Denied, Failed}
	e := Event{
		Actor:     fmt.Sprintf("user-%03d", i%50),
		Roles:     []access.Role{access.Reader},
		Clearance: access.Level(i % 4),
		OrgUnit:   "vp-tw",
		Action:    actions[i%len(actions)],
		Object:    fmt.Sprintf("%032x", i%997),
		Version:   uint32(i%3 + 1),
		Level:     access.Level((i / 4) % 4),
		Outcome:   outcomes[i%len(outcomes)],
		Reason:    "ok",
		ClientIP:  "10.0.0.7",
		Request:   fmt.Sprintf("req-%d", i),
	}
	if e.Action == ActionSearch {
		e.Object, e.Version = "", 0
		e.QueryHash = fmt.Sprintf("%064x", i%13)
	}
	return e
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := l.Append(context.Background(), sampleEvent(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}
