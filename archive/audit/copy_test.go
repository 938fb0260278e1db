package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"khomat/archive/store"
	"khomat/archive/store/storetest"
)

// stuckStore holds every Put until released, or fails it while failing is
// set: a store that is down or slow.
type stuckStore struct {
	store.Store
	mu      sync.Mutex
	failing bool
	hold    chan struct{}
	puts    int
}

func (s *stuckStore) Put(ctx context.Context, key string, r io.Reader, opts store.PutOptions) (store.Info, error) {
	s.mu.Lock()
	s.puts++
	failing, hold := s.failing, s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return store.Info{}, ctx.Err()
		}
	}
	if failing {
		return store.Info{}, store.ErrUnavailable
	}
	return s.Store.Put(ctx, key, r, opts)
}

func (s *stuckStore) set(failing bool, hold chan struct{}) {
	s.mu.Lock()
	s.failing, s.hold = failing, hold
	s.mu.Unlock()
}

func copyOptions(clock *fakeClock, st store.Store) Options {
	opts := testOptions(clock)
	opts.Store = st
	opts.SegmentBytes = 4 << 10
	opts.CopyRetry = 5 * time.Millisecond
	opts.RetainFor = time.Hour
	opts.RetentionMode = store.Governance
	return opts
}

func bucketKeys(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range st.List(t.Context(), prefix, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func TestCopyToFolderStore(t *testing.T) {
	t.Parallel()
	st, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v := testCopy(t, st)

	// The bucket copy is checked like the folder: a segment deleted from
	// the bucket is found and named.
	keys := bucketKeys(t, st, "audit/node1/segments/")
	victim := keys[1]
	if err := st.Delete(t.Context(), victim, store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(t.Context(), Bucket{Store: st, Node: "node1"}, v)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(victim, "audit/node1/segments/")
	first, _ := parseSeqName(name)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != Removed || rep.Problems[0].Segment != name || rep.Problems[0].Seq != first {
		t.Fatalf("after deleting %s: %v", victim, rep.Problems)
	}
}

func TestCopyToS3(t *testing.T) {
	t.Parallel()
	t.Run("object lock", func(t *testing.T) {
		t.Parallel()
		st := storetest.NewS3(t, true)
		testCopy(t, st)
		keys := bucketKeys(t, st, "audit/node1/segments/")
		err := st.Delete(t.Context(), keys[0], store.DeleteOptions{AllVersions: true})
		if !errors.Is(err, store.ErrLocked) {
			t.Fatalf("deleting a copied segment = %v, want ErrLocked", err)
		}
	})
	t.Run("no object lock", func(t *testing.T) {
		t.Parallel()
		testCopy(t, storetest.NewS3(t, false))
	})
}

// testCopy writes a log whose store is st, first while st is stuck, then
// while it fails, then healthy, and verifies the copy in the bucket.
func testCopy(t *testing.T, st store.Store) note.Verifier {
	// Retention is set from the log's clock, and the server compares it
	// with its own.
	clock := newClock()
	clock.t = time.Now()
	stuck := &stuckStore{Store: st}
	hold := make(chan struct{})
	stuck.set(false, hold)
	dir := t.TempDir()
	l := openLog(t, dir, copyOptions(clock, stuck))

	// Appends go on while a copy hangs...
	appendN(t, l, 0, 60)
	if s := l.Status(); s.Segments < 3 || s.Copied != 0 {
		t.Fatalf("status while the store hangs: %+v", s)
	}
	// ...and while copies fail.
	stuck.set(true, nil)
	close(hold)
	appendN(t, l, 60, 20)
	waitFor(t, func() bool { return l.Status().CopyError != "" })
	stuck.set(false, nil)
	s := l.Status()
	waitFor(t, func() bool { s = l.Status(); return s.CopyError == "" && s.Copied > 60 })
	closeLog(t, l)

	keys := bucketKeys(t, st, "audit/")
	var segs, cps int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "audit/node1/segments/"):
			segs++
		case strings.HasPrefix(k, "audit/node1/checkpoints/"):
			cps++
		default:
			t.Errorf("unexpected key %s", k)
		}
	}
	if segs != s.Segments || cps == 0 {
		t.Fatalf("bucket holds %d segments and %d checkpoints; the log had %d segments", segs, cps, s.Segments)
	}
	verifyOK(t, Bucket{Store: st, Node: "node1"}, verifierOf(t, l), 80)

	// A reopened log finds its copies in the bucket and adds only what
	// is new.
	l = openLog(t, dir, copyOptions(clock, st))
	appendN(t, l, 80, 5)
	closeLog(t, l)
	verifyOK(t, Bucket{Store: st, Node: "node1"}, verifierOf(t, l), 85)
	return verifierOf(t, l)
}

func TestCopyFindsAForeignObject(t *testing.T) {
	t.Parallel()
	st, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Another writer got there first with different bytes.
	if _, err := st.Put(t.Context(), "audit/node1/segments/"+seqName(0), bytes.NewReader([]byte("not ours")), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, t.TempDir(), copyOptions(newClock(), st))
	appendN(t, l, 0, 40)
	waitFor(t, func() bool { return strings.Contains(l.Status().CopyError, "different") })
	// The log itself goes on.
	appendN(t, l, 40, 1)
	l.Close(t.Context())
	r, _, err := st.Get(t.Context(), "audit/node1/segments/"+seqName(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "not ours" {
		t.Fatal("the foreign object was overwritten")
	}
}
