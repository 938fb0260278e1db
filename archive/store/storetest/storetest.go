// Package storetest is the conformance suite every store backend passes:
// the same operations, boundary sizes, conditional writes and races,
// listing order and paging, and cancellation, run against the real backend.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"khomat/archive/store"
)

// Features says what optional behaviour a backend offers.
type Features struct {
	// Retention: Put with a Retention locks the object (S3 Object Lock);
	// otherwise such a Put must fail with ErrUnsupported.
	Retention bool
}

// Run runs the conformance suite. newStore returns a new, empty store for
// each test; the test's cleanup functions release it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, f Features) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"RoundTripSizes", testRoundTripSizes},
		{"StatMatchesPut", testStatMatchesPut},
		{"Overwrite", testOverwrite},
		{"Ranges", testRanges},
		{"Missing", testMissing},
		{"InvalidKeys", testInvalidKeys},
		{"CreateIfAbsent", testCreateIfAbsent},
		{"CreateIfAbsentLarge", testCreateIfAbsentLarge},
		{"CreateIfAbsentRace", testCreateIfAbsentRace},
		{"ReplaceIfMatch", testReplaceIfMatch},
		{"ReplaceIfMatchRace", testReplaceIfMatchRace},
		{"ExclusiveConditions", testExclusiveConditions},
		{"ListOrder", testListOrder},
		{"ListPaging", testListPaging},
		{"ListEarlyStop", testListEarlyStop},
		{"Delete", testDelete},
		{"CancelMidUpload", testCancelMidUpload},
		{"ReaderErrorMidUpload", testReaderError},
		{"ConcurrentWriters", testConcurrentWriters},
		{"BoundedMemory", testBoundedMemory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
	t.Run("Retention", func(t *testing.T) {
		testRetention(t, newStore(t), f.Retention)
	})
}

const mib = 1 << 20

// Data returns n deterministic pseudo-random bytes for seed.
func Data(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

// Stream returns a reader of n deterministic bytes that does not reveal its
// length (no Len, Seek or WriterTo), as an upload from the network would.
func Stream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1}), n)
}

func ctx(t *testing.T) context.Context { return t.Context() }

func put(t *testing.T, s store.Store, key string, data []byte, opts store.PutOptions) store.Info {
	t.Helper()
	info, err := s.Put(ctx(t), key, opaque{bytes.NewReader(data)}, opts)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
	return info
}

// opaque hides every method but Read.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func get(t *testing.T, s store.Store, key string, rng *store.Range) ([]byte, store.Info) {
	t.Helper()
	rc, info, err := s.Get(ctx(t), key, rng)
	if err != nil {
		t.Fatalf("Get(%q, %+v): %v", key, rng, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b, info
}

func mustNotExist(t *testing.T, s store.Store, key string) {
	t.Helper()
	if _, err := s.Stat(ctx(t), key); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat(%q) = %v, want ErrNotExist", key, err)
	}
	for info, err := range s.List(ctx(t), key, "") {
		if err != nil {
			t.Fatalf("List(%q): %v", key, err)
		}
		if info.Key == key {
			t.Fatalf("List shows %q, which should not exist", key)
		}
	}
}

func testRoundTripSizes(t *testing.T, s store.Store) {
	for _, n := range []int64{0, 1, 5*mib - 1, 5 * mib, 5*mib + 1, 64 * mib} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("sizes/%d", n)
			want := sha256.New()
			info, err := s.Put(ctx(t), key, io.TeeReader(Stream(uint64(n), n), want), store.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != n || info.Key != key || info.ETag == "" {
				t.Fatalf("Put info = %+v, want key %q size %d and an ETag", info, key, n)
			}
			rc, ginfo, err := s.Get(ctx(t), key, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.New()
			m, err := io.Copy(got, rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if m != n || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Fatalf("read back %d bytes, want %d; equal content: %v", m, n, bytes.Equal(got.Sum(nil), want.Sum(nil)))
			}
			if ginfo.Size != n || ginfo.ETag != info.ETag {
				t.Fatalf("Get info = %+v, want size %d ETag %q", ginfo, n, info.ETag)
			}
		})
	}
}

func testStatMatchesPut(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Minute)
	info := put(t, s, "stat/a", []byte("hello"), store.PutOptions{ContentType: "text/plain"})
	st, err := s.Stat(ctx(t), "stat/a")
	if err != nil {
		t.Fatal(err)
	}
	if st.Key != "stat/a" || st.Size != 5 || st.ETag != info.ETag {
		t.Fatalf("Stat = %+v, want key stat/a, size 5, ETag %q", st, info.ETag)
	}
	if st.ModTime.Before(before) || st.ModTime.After(time.Now().Add(time.Minute)) {
		t.Fatalf("ModTime %v is not about now", st.ModTime)
	}
}

func testOverwrite(t *testing.T, s store.Store) {
	first := put(t, s, "over/k", []byte("one"), store.PutOptions{})
	second := put(t, s, "over/k", []byte("two!"), store.PutOptions{})
	if first.ETag == second.ETag {
		t.Fatalf("ETag did not change on overwrite: %q", first.ETag)
	}
	got, info := get(t, s, "over/k", nil)
	if string(got) != "two!" || info.Size != 4 {
		t.Fatalf("after overwrite: %q (size %d), want %q", got, info.Size, "two!")
	}
}

func testRanges(t *testing.T, s store.Store) {
	data := Data(7, 6*mib+123)
	put(t, s, "range/obj", data, store.PutOptions{})
	n := int64(len(data))
	cases := []struct {
		name string
		rng  store.Range
		want []byte
	}{
		{"head", store.Range{Offset: 0, Length: 10}, data[:10]},
		{"middle", store.Range{Offset: 5*mib - 3, Length: 70000}, data[5*mib-3 : 5*mib-3+70000]},
		{"to end", store.Range{Offset: n - 1000, Length: -1}, data[n-1000:]},
		{"whole", store.Range{Offset: 0, Length: -1}, data},
		{"past end", store.Range{Offset: n + 10, Length: 5}, nil},
		{"at end", store.Range{Offset: n, Length: -1}, nil},
		{"longer than object", store.Range{Offset: n - 5, Length: 100}, data[n-5:]},
		{"empty", store.Range{Offset: 3, Length: 0}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, info := get(t, s, "range/obj", &tc.rng)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
			if info.Size != n {
				t.Fatalf("Info.Size = %d, want the object's size %d", info.Size, n)
			}
		})
	}
	if _, _, err := s.Get(ctx(t), "range/obj", &store.Range{Offset: -1, Length: 3}); err == nil {
		t.Fatal("negative offset accepted")
	}
}

func testMissing(t *testing.T, s store.Store) {
	if _, _, err := s.Get(ctx(t), "missing/k", nil); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Get missing = %v, want ErrNotExist", err)
	}
	if _, _, err := s.Get(ctx(t), "missing/k", &store.Range{Offset: 1, Length: 1}); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("ranged Get missing = %v, want ErrNotExist", err)
	}
	mustNotExist(t, s, "missing/k")
	if err := s.Delete(ctx(t), "missing/k", store.DeleteOptions{}); err != nil {
		t.Fatalf("Delete missing = %v, want nil", err)
	}
	for _, err := range s.List(ctx(t), "missing/", "") {
		t.Fatalf("List of an empty prefix yielded something (err %v)", err)
	}
}

// BadKeys are keys every backend must refuse with ErrInvalidKey.
var BadKeys = []string{
	"", "/abs", "a/../b", "..", "../x", "a/..", "./a", "a/./b", "a//b", "a/", "a\\b",
	"a\x00b", "a\nb", "\xff\xfe", strings.Repeat("k", store.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, s store.Store) {
	for _, key := range BadKeys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			if _, err := s.Put(ctx(t), key, strings.NewReader("x"), store.PutOptions{}); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Put(ctx(t), key, strings.NewReader("x"), store.PutOptions{IfAbsent: true}); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Put IfAbsent = %v, want ErrInvalidKey", err)
			}
			if _, _, err := s.Get(ctx(t), key, nil); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Get = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Stat(ctx(t), key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Stat = %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx(t), key, store.DeleteOptions{}); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
		})
	}
	for _, prefix := range []string{"/", "/abs", "a/../", "../"} {
		for _, err := range s.List(ctx(t), prefix, "") {
			if !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("List(%q) = %v, want ErrInvalidKey", prefix, err)
			}
			break
		}
	}
	// Nothing was written by any of the refused calls.
	for info, err := range s.List(ctx(t), "", "") {
		t.Fatalf("store is not empty after refused writes: %+v %v", info, err)
	}
}

func testCreateIfAbsent(t *testing.T, s store.Store) {
	info := put(t, s, "cia/k", []byte("first"), store.PutOptions{IfAbsent: true})
	_, err := s.Put(ctx(t), "cia/k", strings.NewReader("second"), store.PutOptions{IfAbsent: true})
	if !errors.Is(err, store.ErrExist) {
		t.Fatalf("second create = %v, want ErrExist", err)
	}
	got, ginfo := get(t, s, "cia/k", nil)
	if string(got) != "first" || ginfo.ETag != info.ETag {
		t.Fatalf("content after refused create = %q, want %q", got, "first")
	}
	// Empty objects can be created too (a zero-length commit marker).
	put(t, s, "cia/empty", nil, store.PutOptions{IfAbsent: true})
	if _, err := s.Put(ctx(t), "cia/empty", bytes.NewReader(nil), store.PutOptions{IfAbsent: true}); !errors.Is(err, store.ErrExist) {
		t.Fatalf("second empty create = %v, want ErrExist", err)
	}
}

// testCreateIfAbsentLarge checks the condition on an upload larger than one
// part: servers that check If-None-Match only when a multipart upload
// completes would silently overwrite if the backend sent it only at the start.
func testCreateIfAbsentLarge(t *testing.T, s store.Store) {
	small := Data(1, 100)
	put(t, s, "cial/k", small, store.PutOptions{IfAbsent: true})
	_, err := s.Put(ctx(t), "cial/k", Stream(2, 20*mib), store.PutOptions{IfAbsent: true})
	if !errors.Is(err, store.ErrExist) {
		t.Fatalf("large create over an existing object = %v, want ErrExist", err)
	}
	if got, _ := get(t, s, "cial/k", nil); !bytes.Equal(got, small) {
		t.Fatalf("object changed by a refused large create (%d bytes)", len(got))
	}
	// And a large create of a new key succeeds whole.
	info, err := s.Put(ctx(t), "cial/new", Stream(3, 20*mib+7), store.PutOptions{IfAbsent: true})
	if err != nil || info.Size != 20*mib+7 {
		t.Fatalf("large create = %+v, %v", info, err)
	}
}

func testCreateIfAbsentRace(t *testing.T, s store.Store) {
	const writers = 16
	for round := range 5 {
		key := fmt.Sprintf("race/%d", round)
		var wins, exists atomic.Int32
		var winner atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				body := fmt.Sprintf("writer %d", i)
				_, err := s.Put(ctx(t), key, strings.NewReader(body), store.PutOptions{IfAbsent: true})
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(int32(i))
				case errors.Is(err, store.ErrExist):
					exists.Add(1)
				default:
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || exists.Load() != writers-1 {
			t.Fatalf("round %d: %d winners and %d ErrExist, want 1 and %d", round, wins.Load(), exists.Load(), writers-1)
		}
		if got, _ := get(t, s, key, nil); string(got) != fmt.Sprintf("writer %d", winner.Load()) {
			t.Fatalf("round %d: stored %q, but writer %d won", round, got, winner.Load())
		}
	}
}

func testReplaceIfMatch(t *testing.T, s store.Store) {
	v1 := put(t, s, "cas/k", []byte("v1"), store.PutOptions{})
	v2 := put(t, s, "cas/k", []byte("v2"), store.PutOptions{IfMatch: v1.ETag})
	if _, err := s.Put(ctx(t), "cas/k", strings.NewReader("stale"), store.PutOptions{IfMatch: v1.ETag}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("replace with a stale ETag = %v, want ErrPrecondition", err)
	}
	if got, _ := get(t, s, "cas/k", nil); string(got) != "v2" {
		t.Fatalf("content = %q, want v2", got)
	}
	if _, err := s.Put(ctx(t), "cas/missing", strings.NewReader("x"), store.PutOptions{IfMatch: v2.ETag}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("replace of a missing key = %v, want ErrPrecondition", err)
	}
	mustNotExist(t, s, "cas/missing")
	// A large replace checks its condition too.
	if _, err := s.Put(ctx(t), "cas/k", Stream(4, 12*mib), store.PutOptions{IfMatch: v1.ETag}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("large replace with a stale ETag = %v, want ErrPrecondition", err)
	}
	if _, err := s.Put(ctx(t), "cas/k", Stream(4, 12*mib), store.PutOptions{IfMatch: v2.ETag}); err != nil {
		t.Fatalf("large replace with the current ETag: %v", err)
	}
}

func testReplaceIfMatchRace(t *testing.T, s store.Store) {
	base := put(t, s, "casrace/k", []byte("base"), store.PutOptions{})
	const writers = 12
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			_, err := s.Put(ctx(t), "casrace/k", strings.NewReader(fmt.Sprint(i)), store.PutOptions{IfMatch: base.ETag})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrPrecondition):
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d compare-and-swaps from the same ETag succeeded, want exactly 1", wins.Load())
	}
}

func testExclusiveConditions(t *testing.T, s store.Store) {
	_, err := s.Put(ctx(t), "excl/k", strings.NewReader("x"), store.PutOptions{IfAbsent: true, IfMatch: "abc"})
	if err == nil {
		t.Fatal("IfAbsent with IfMatch accepted")
	}
	mustNotExist(t, s, "excl/k")
}

func listKeys(t *testing.T, s store.Store, prefix, after string) []string {
	t.Helper()
	var keys []string
	for info, err := range s.List(ctx(t), prefix, after) {
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, after, err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func testListOrder(t *testing.T, s store.Store) {
	// Keys chosen so that folder order and byte order differ: '-' and '.'
	// sort before '/', '0' and 'a' after it.
	keys := []string{"l/x/a/b", "l/x-1", "l/x.1", "l/x/1", "l/x/2", "l/x0", "l/xa", "l/y", "l/É", "l/z/z/z"}
	for i, k := range keys {
		put(t, s, k, []byte{byte(i)}, store.PutOptions{})
	}
	put(t, s, "other/k", []byte("x"), store.PutOptions{})
	want := slices.Clone(keys)
	slices.Sort(want)
	cases := []struct {
		prefix, after string
		want          []string
	}{
		{"l/", "", want},
		{"l/x", "", filter(want, func(k string) bool { return strings.HasPrefix(k, "l/x") })},
		{"l/x/", "", []string{"l/x/1", "l/x/2", "l/x/a/b"}},
		{"l/", "l/x/1", filter(want, func(k string) bool { return k > "l/x/1" })},
		{"l/", "l/x/", filter(want, func(k string) bool { return k > "l/x/" })},
		{"l/", "l/x/a", filter(want, func(k string) bool { return k > "l/x/a" })},
		{"l/", "l/zz", []string{"l/É"}}, // multi-byte UTF-8 sorts after ASCII
		{"l/", "l/É", nil},
		{"", "", append(slices.Clone(want), "other/k")},
		{"l/q", "", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q after %q", tc.prefix, tc.after), func(t *testing.T) {
			if got := listKeys(t, s, tc.prefix, tc.after); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func filter(keys []string, keep func(string) bool) []string {
	var out []string
	for _, k := range keys {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

func testListPaging(t *testing.T, s store.Store) {
	const n = 1100 // more than one S3 listing page of 1,000
	var want []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		key := fmt.Sprintf("page/%04x/o", i*7919%65536)
		want = append(want, key)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := s.Put(ctx(t), key, strings.NewReader("p"), store.PutOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	slices.Sort(want)
	if got := listKeys(t, s, "page/", ""); !slices.Equal(got, want) {
		t.Fatalf("listed %d keys, want %d in order", len(got), len(want))
	}
	if got := listKeys(t, s, "page/", want[1049]); !slices.Equal(got, want[1050:]) {
		t.Fatalf("after the 1050th key: listed %d keys, want %d", len(got), len(want[1050:]))
	}
}

func testListEarlyStop(t *testing.T, s store.Store) {
	for i := range 30 {
		put(t, s, fmt.Sprintf("stop/%02d", i), nil, store.PutOptions{})
	}
	var got []string
	for info, err := range s.List(ctx(t), "stop/", "") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info.Key)
		if len(got) == 3 {
			break
		}
	}
	if !slices.Equal(got, []string{"stop/00", "stop/01", "stop/02"}) {
		t.Fatalf("got %q", got)
	}
	// A cancelled context ends the listing with an error.
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	var sawErr bool
	for _, err := range s.List(c, "stop/", "") {
		if err != nil {
			sawErr = true
			break
		}
	}
	if !sawErr {
		t.Fatal("List with a cancelled context yielded no error")
	}
}

func testDelete(t *testing.T, s store.Store) {
	put(t, s, "del/a/b", []byte("x"), store.PutOptions{})
	put(t, s, "del/c", []byte("y"), store.PutOptions{})
	if err := s.Delete(ctx(t), "del/a/b", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, s, "del/a/b")
	if got := listKeys(t, s, "del/", ""); !slices.Equal(got, []string{"del/c"}) {
		t.Fatalf("after delete: %q", got)
	}
	// The key of a former folder can become an object.
	put(t, s, "del/a", []byte("z"), store.PutOptions{IfAbsent: true})
	if err := s.Delete(ctx(t), "del/c", store.DeleteOptions{AllVersions: true}); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, s, "del/c")
	// A deleted key can be created again.
	put(t, s, "del/c", []byte("again"), store.PutOptions{IfAbsent: true})
}

// endless yields pseudo-random bytes and cancels after limit bytes.
type endless struct {
	n, limit int64
	cancel   func()
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= e.limit {
		e.cancel()
		time.Sleep(10 * time.Millisecond)
	}
	for i := range p {
		p[i] = byte(e.n + int64(i))
	}
	e.n += int64(len(p))
	return len(p), nil
}

func testCancelMidUpload(t *testing.T, s store.Store) {
	for _, opts := range []store.PutOptions{{}, {IfAbsent: true}} {
		t.Run(fmt.Sprintf("IfAbsent=%v", opts.IfAbsent), func(t *testing.T) {
			key := fmt.Sprintf("cancel/%v", opts.IfAbsent)
			c, cancel := context.WithCancel(ctx(t))
			defer cancel()
			_, err := s.Put(c, key, &endless{limit: 20 * mib, cancel: cancel}, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put cancelled mid-upload = %v, want context.Canceled", err)
			}
			mustNotExist(t, s, key)
		})
	}
}

type failing struct {
	r   io.Reader
	err error
}

func (f failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func testReaderError(t *testing.T, s store.Store) {
	boom := errors.New("upload connection reset")
	for _, n := range []int64{10, 17 * mib} {
		key := fmt.Sprintf("fail/%d", n)
		_, err := s.Put(ctx(t), key, failing{Stream(5, n), boom}, store.PutOptions{})
		if !errors.Is(err, boom) {
			t.Fatalf("Put with a failing reader (%d bytes) = %v, want the reader's error", n, err)
		}
		mustNotExist(t, s, key)
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			key := fmt.Sprintf("conc/%d/%d", i%3, i)
			data := Data(uint64(i), 1000+i)
			if _, err := s.Put(ctx(t), key, bytes.NewReader(data), store.PutOptions{}); err != nil {
				t.Error(err)
				return
			}
			rc, _, err := s.Get(ctx(t), key, nil)
			if err != nil {
				t.Error(err)
				return
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, data) {
				t.Errorf("%s: content differs", key)
			}
			if i%2 == 0 {
				if err := s.Delete(ctx(t), key, store.DeleteOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := listKeys(t, s, "conc/", ""); len(got) != 12 {
		t.Fatalf("%d keys left, want 12: %q", len(got), got)
	}
}

// PeakHeap runs fn while sampling the heap, and returns the highest heap
// size seen above the size before fn, in bytes.
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// testBoundedMemory streams 256 MiB and checks the heap stays far below it.
func testBoundedMemory(t *testing.T, s store.Store) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 * mib
	var err error
	peak := PeakHeap(func() {
		_, err = s.Put(ctx(t), "mem/big", Stream(9, size), store.PutOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak heap growth during a 256 MiB put: %.1f MiB", float64(peak)/mib)
	if peak > 64*mib {
		t.Fatalf("peak heap growth %.1f MiB during a 256 MiB put, want under 64 MiB", float64(peak)/mib)
	}
	rc, _, err := s.Get(ctx(t), "mem/big", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var n int64
	peak = PeakHeap(func() { n, err = io.Copy(io.Discard, rc) })
	if err != nil || n != size {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	if peak > 64*mib {
		t.Fatalf("peak heap growth %.1f MiB during a 256 MiB get, want under 64 MiB", float64(peak)/mib)
	}
}

func testRetention(t *testing.T, s store.Store, supported bool) {
	until := time.Now().Add(time.Hour)
	_, err := s.Put(ctx(t), "lock/gov", strings.NewReader("kept"), store.PutOptions{
		Retention: &store.Retention{Mode: store.Governance, Until: until},
	})
	if !supported {
		if !errors.Is(err, store.ErrUnsupported) {
			t.Fatalf("Put with retention on a backend without it = %v, want ErrUnsupported", err)
		}
		mustNotExist(t, s, "lock/gov")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx(t), "lock/gov", store.DeleteOptions{AllVersions: true}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("deleting every version of a locked object = %v, want ErrLocked", err)
	}
	if got, _ := get(t, s, "lock/gov", nil); string(got) != "kept" {
		t.Fatalf("locked object reads %q after a refused delete", got)
	}
	if err := s.Delete(ctx(t), "lock/gov", store.DeleteOptions{AllVersions: true, BypassGovernance: true}); err != nil {
		t.Fatalf("governance bypass: %v", err)
	}
	mustNotExist(t, s, "lock/gov")

	// Compliance mode: nobody deletes it before it expires.
	_, err = s.Put(ctx(t), "lock/comp", Stream(6, 6*mib), store.PutOptions{
		Retention: &store.Retention{Mode: store.Compliance, Until: time.Now().Add(2 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx(t), "lock/comp", store.DeleteOptions{AllVersions: true, BypassGovernance: true}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("deleting a compliance-locked object = %v, want ErrLocked", err)
	}
	if _, err := s.Put(ctx(t), "lock/bad", strings.NewReader("x"), store.PutOptions{
		Retention: &store.Retention{Mode: "FOREVER", Until: until},
	}); err == nil {
		t.Fatal("unknown retention mode accepted")
	}
}
