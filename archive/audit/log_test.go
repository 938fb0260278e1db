package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func verifierOf(t testing.TB, l *Log) note.Verifier {
	t.Helper()
	v, err := NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func verifyOK(t testing.TB, src Source, v note.Verifier, events uint64) Report {
	t.Helper()
	rep, err := Verify(context.Background(), src, v)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != events || rep.Size != events {
		t.Fatalf("report: events %d size %d, want %d; problems %v", rep.Events, rep.Size, events, rep.Problems)
	}
	return rep
}

func TestAppendReopenVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := newClock()
	l := openLog(t, dir, testOptions(clock))
	for i := range 25 {
		seq, err := l.Append(t.Context(), sampleEvent(i))
		if err != nil || seq != uint64(i) {
			t.Fatalf("Append %d = %d, %v", i, seq, err)
		}
	}
	closeLog(t, l)
	if _, err := l.Append(t.Context(), sampleEvent(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}

	l = openLog(t, dir, testOptions(clock))
	if s := l.Status(); s.Size != 25 || s.Checkpoint != 25 || s.Segments != 2 {
		t.Fatalf("after reopen: %+v", s)
	}
	appendN(t, l, 25, 5)
	closeLog(t, l)
	verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), 30)

	t.Run("files", func(t *testing.T) {
		for name, mode := range map[string]os.FileMode{signerFile: 0o600, queryKeyFile: 0o600, verifierFile: 0o644} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s: %v, mode %v, want %v", name, err, fi.Mode().Perm(), mode)
			}
		}
		skey, _ := os.ReadFile(filepath.Join(dir, signerFile))
		if !strings.HasPrefix(string(skey), "PRIVATE+KEY+khomat-audit/node1+") {
			t.Errorf("signer key file: %.30q", skey)
		}
	})
	t.Run("second open refused", func(t *testing.T) {
		l := openLog(t, dir, testOptions(clock))
		defer closeLog(t, l)
		if _, err := Open(dir, testOptions(clock)); err == nil {
			t.Fatal("a second Open of one folder succeeded")
		}
	})
	t.Run("wrong node name", func(t *testing.T) {
		opts := testOptions(clock)
		opts.Node = "node2"
		if _, err := Open(dir, opts); err == nil {
			t.Fatal("Open with another node's name succeeded")
		}
	})
}

func TestAppendRefusesCancelledContext(t *testing.T) {
	t.Parallel()
	l := openLog(t, t.TempDir(), testOptions(newClock()))
	defer closeLog(t, l)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(ctx, sampleEvent(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append = %v, want context.Canceled", err)
	}
	if s := l.Status(); s.Size != 0 {
		t.Fatalf("a refused event was recorded: %+v", s)
	}
}

func TestTimesAreMonotonic(t *testing.T) {
	t.Parallel()
	clock := newClock()
	l := openLog(t, t.TempDir(), testOptions(clock))
	defer closeLog(t, l)
	appendEvent := func(e Event) Entry {
		seq, err := l.Append(t.Context(), e)
		if err != nil {
			t.Fatal(err)
		}
		en, err := l.Entry(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		return en
	}
	e := sampleEvent(0)
	e.Time = clock.now().Add(time.Hour)
	if en := appendEvent(e); en.Time.After(clock.now()) {
		t.Fatalf("a time ahead of the clock was kept: %v", en.Time)
	}
	e.Time = clock.now()
	first := appendEvent(e)
	e.Time = first.Time.Add(-time.Second) // earlier than the first event
	second := appendEvent(e)
	if !second.Time.Equal(first.Time) || second.Time.Location() != time.UTC {
		t.Fatalf("second event at %v, first at %v", second.Time, first.Time)
	}
	e.Time = time.Time{}
	if third := appendEvent(e); third.Time.Before(second.Time) {
		t.Fatalf("clock time %v went before %v", third.Time, second.Time)
	}
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	t.Run("every N events", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		opts := testOptions(clock)
		opts.Tick = time.Millisecond
		l := openLog(t, t.TempDir(), opts)
		defer closeLog(t, l)
		appendN(t, l, 0, 10)
		waitFor(t, func() bool { return l.Status().Checkpoint == 10 })
		appendN(t, l, 10, 9)
		time.Sleep(20 * time.Millisecond)
		if s := l.Status(); s.Checkpoint != 10 {
			t.Fatalf("checkpoint %d after 9 more events", s.Checkpoint)
		}
		appendN(t, l, 19, 1)
		waitFor(t, func() bool { return l.Status().Checkpoint == 20 })
	})
	t.Run("every T seconds", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		opts := testOptions(clock)
		opts.CheckpointEvery = 1000
		opts.CheckpointInterval = 10 * time.Second
		opts.Tick = time.Millisecond
		l := openLog(t, t.TempDir(), opts)
		defer closeLog(t, l)
		appendN(t, l, 0, 3)
		time.Sleep(20 * time.Millisecond)
		if s := l.Status(); s.Checkpoint != 0 {
			t.Fatalf("checkpoint %d before T passed", s.Checkpoint)
		}
		clock.advance(11 * time.Second)
		waitFor(t, func() bool { return l.Status().Checkpoint == 3 })
	})
	t.Run("on demand", func(t *testing.T) {
		t.Parallel()
		l := openLog(t, t.TempDir(), testOptions(newClock()))
		defer closeLog(t, l)
		appendN(t, l, 0, 3)
		cp, err := l.Checkpoint(t.Context())
		if err != nil || cp.Size != 3 {
			t.Fatalf("Checkpoint = %d, %v", cp.Size, err)
		}
		got, err := OpenCheckpoint(cp.Note, l.Verifier())
		if err != nil || got.Root != cp.Root || got.Origin != "khomat-audit/node1" {
			t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
		}
		lines := strings.Split(string(cp.Note), "\n")
		if lines[0] != "khomat-audit/node1" || lines[1] != "3" || lines[3] != "" || !strings.HasPrefix(lines[4], "— khomat-audit/node1 ") {
			t.Fatalf("not a C2SP checkpoint:\n%s", cp.Note)
		}
		if _, err := l.CheckpointAt(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		if _, err := l.CheckpointAt(t.Context(), 2); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CheckpointAt(2) = %v", err)
		}
	})
	t.Run("segment by size and age", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		opts := testOptions(clock)
		opts.SegmentBytes = 2000
		opts.SegmentAge = time.Minute
		opts.CheckpointEvery = 1000
		opts.Tick = time.Millisecond
		dir := t.TempDir()
		l := openLog(t, dir, opts)
		appendN(t, l, 0, 30)
		s := l.Status()
		if s.Segments < 3 {
			t.Fatalf("30 events of ~200 bytes in 2000-byte segments: %+v", s)
		}
		appendN(t, l, 30, 1)
		before := l.Status().Segments
		clock.advance(2 * time.Minute)
		waitFor(t, func() bool { return l.Status().Segments == before+1 })
		closeLog(t, l)
		// Every segment boundary has its checkpoint.
		sizes, _ := l.Checkpoints(t.Context())
		names, _, _ := listNames(filepath.Join(dir, segmentsDir))
		for _, n := range names[1:] {
			first, _ := parseSeqName(n)
			if _, err := os.Stat(filepath.Join(dir, checkpointsDir, n)); err != nil {
				t.Errorf("no checkpoint at the start of segment %d (checkpoints %v)", first, sizes)
			}
		}
		verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), 31)
	})
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// crash abandons a log as a crash would: no checkpoint, no new segment.
func crash(l *Log) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.loopDone.Wait()
	l.seg.f.Close()
	l.hashes.close()
	l.lock.Close()
}

func activeSegment(t testing.TB, dir string) string {
	names, _, err := listNames(filepath.Join(dir, segmentsDir))
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	return filepath.Join(dir, segmentsDir, names[len(names)-1])
}

func TestRecovery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   uint64 // events kept of the 15 written (10 checkpointed)
	}{
		{"cut inside the last record", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()-7); err != nil {
				t.Fatal(err)
			}
		}, 14},
		{"cut inside a length field", func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			off := lastRecordOffset(t, data)
			os.Truncate(path, int64(off+2))
		}, 14},
		{"garbage appended", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("\x00\x00\x01\x00garbage after a crash"))
			f.Close()
		}, 15},
		{"zeros appended", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(make([]byte, 4096))
			f.Close()
		}, 15},
		{"last record's checksum torn", func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			data[len(data)-1] ^= 0xff
			os.WriteFile(path, data, 0o600)
		}, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			clock := newClock()
			l := openLog(t, dir, testOptions(clock))
			appendN(t, l, 0, 10)
			waitFor(t, func() bool { return l.Status().Checkpoint == 10 })
			appendN(t, l, 10, 5)
			crash(l)
			path := activeSegment(t, dir)
			c.damage(t, path)

			l = openLog(t, dir, testOptions(clock))
			// The kept events, then the log's own record of the repair,
			// all under a fresh checkpoint.
			if s := l.Status(); s.Size != c.want+1 || s.Checkpoint != c.want+1 {
				t.Fatalf("after recovery: %+v, want %d events", s, c.want+1)
			}
			en, err := l.Entry(t.Context(), c.want)
			if err != nil || en.Action != ActionAuditRecover || en.Actor != SystemActor || !strings.HasPrefix(en.Detail, "segment=") {
				t.Fatalf("recovery event: %+v, %v", en, err)
			}
			torn, _ := os.ReadDir(filepath.Join(dir, tornDir))
			if len(torn) != 1 {
				t.Fatalf("torn bytes kept: %v", torn)
			}
			appendN(t, l, 100, 2)
			closeLog(t, l)
			verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), c.want+3)
		})
	}

	t.Run("segment header torn", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		clock := newClock()
		l := openLog(t, dir, testOptions(clock))
		appendN(t, l, 0, 5)
		closeLog(t, l) // completes the segment and starts segment 5
		os.Truncate(filepath.Join(dir, segmentsDir, seqName(5)), 10)
		l = openLog(t, dir, testOptions(clock))
		appendN(t, l, 5, 1)
		closeLog(t, l)
		verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), 6)
	})

	refused := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"cut under a signed checkpoint", func(t *testing.T, dir string) {
			// Drop the empty segment Close started, then cut the one
			// before, whose events checkpoint 20 covers.
			os.Remove(activeSegment(t, dir))
			os.Truncate(activeSegment(t, dir), segHeaderLen+50)
		}},
		{"damage in a completed segment", func(t *testing.T, dir string) {
			path := filepath.Join(dir, segmentsDir, seqName(0))
			data, _ := os.ReadFile(path)
			data[segHeaderLen+30] ^= 1
			os.WriteFile(path, data, 0o600)
		}},
		{"signer key lost", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, signerFile))
		}},
		{"checkpoint forged", func(t *testing.T, dir string) {
			path := filepath.Join(dir, checkpointsDir, seqName(20))
			data, _ := os.ReadFile(path)
			os.WriteFile(path, []byte(strings.Replace(string(data), "\n20\n", "\n21\n", 1)), 0o644)
		}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			clock := newClock()
			opts := testOptions(clock)
			l := openLog(t, dir, opts)
			appendN(t, l, 0, 10)
			closeLog(t, l)
			l = openLog(t, dir, opts)
			appendN(t, l, 10, 10)
			closeLog(t, l)
			c.damage(t, dir)
			if _, err := Open(dir, opts); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}

func lastRecordOffset(t *testing.T, data []byte) int {
	off, last := segHeaderLen, -1
	for off < len(data) {
		_, n, err := parseFrame(data[off:])
		if err != nil {
			break
		}
		last, off = off, off+n
	}
	if last < 0 {
		t.Fatal("no record")
	}
	return last
}

// faultyFile fails writes or fsyncs once armed.
type faultyFile struct {
	*os.File
	mu                  *sync.Mutex
	failWrite, failSync *bool
}

func (f faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.failWrite {
		// A partial write, as a full disk gives.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f faultyFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.failSync {
		return syscall.EIO
	}
	return f.File.Sync()
}

func TestFailClosed(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"write", "fsync"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			clock := newClock()
			var mu sync.Mutex
			var failWrite, failSync bool
			opts := testOptions(clock)
			opts.openSegment = func(path string, flag int) (file, error) {
				f, err := os.OpenFile(path, flag, 0o600)
				if err != nil {
					return nil, err
				}
				return faultyFile{File: f, mu: &mu, failWrite: &failWrite, failSync: &failSync}, nil
			}
			l := openLog(t, dir, opts)
			appendN(t, l, 0, 5)
			mu.Lock()
			failWrite, failSync = mode == "write", mode == "fsync"
			mu.Unlock()

			var wg sync.WaitGroup
			var acked sync.Map
			for i := range 16 {
				wg.Go(func() {
					seq, err := l.Append(context.Background(), sampleEvent(100+i))
					if err == nil {
						acked.Store(seq, true)
					} else if !errors.Is(err, ErrUnavailable) {
						t.Errorf("Append = %v, want ErrUnavailable", err)
					}
				})
			}
			wg.Wait()
			acked.Range(func(k, _ any) bool {
				t.Errorf("event %v acknowledged while the log could not write", k)
				return true
			})
			mu.Lock()
			failWrite, failSync = false, false
			mu.Unlock()
			// The failure sticks: the page cache after a failed fsync is
			// not to be trusted.
			if _, err := l.Append(t.Context(), sampleEvent(200)); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Append after the fault = %v, want ErrUnavailable", err)
			}
			if s := l.Status(); s.Failed == nil || s.Size != 5 {
				t.Fatalf("status %+v", s)
			}
			l.Close(t.Context())

			l = openLog(t, dir, testOptions(clock))
			s := l.Status()
			appendN(t, l, 300, 1)
			closeLog(t, l)
			// The failed batch was cut from the file; at worst the next
			// open keeps records that were written but not acknowledged.
			if s.Size < 5 {
				t.Fatalf("after reopen: %+v", s)
			}
			verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), s.Size+1)
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := newClock()
	opts := testOptions(clock)
	opts.CheckpointEvery = 100
	opts.SegmentBytes = 64 << 10
	opts.Tick = time.Millisecond
	l := openLog(t, dir, opts)
	const writers, each = 64, 50
	seen := make([]bool, writers*each)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq, err := l.Append(context.Background(), sampleEvent(w*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seq >= uint64(len(seen)) || seen[seq] {
					t.Errorf("sequence number %d given twice or out of range", seq)
				} else {
					seen[seq] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	closeLog(t, l)
	verifyOK(t, Folder{Dir: dir}, verifierOf(t, l), writers*each)
}
