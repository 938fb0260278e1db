package audit

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"khomat/archive/access"
)

// benchEvent is event i of a year of activity: 500 actors, 20,000
// documents, an event every 30 seconds.
func benchEvent(i int) Event {
	e := sampleEvent(i)
	e.Actor = fmt.Sprintf("user-%03d", (i*7919)%500)
	e.Object = fmt.Sprintf("%032x", (i*104729)%20000)
	e.Time = benchStart.Add(time.Duration(i) * 30 * time.Second)
	return e
}

var benchStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// noSync is a segment file whose fsync does nothing: it builds the large
// logs of the benchmarks quickly. Never used where durability is measured.
type noSync struct{ *os.File }

func (noSync) Sync() error { return nil }

var bigLog struct {
	once sync.Once
	dir  string
	vkey string
	err  error
}

const bigEvents = 1_000_000

// millionEvents returns a closed log of a million events, built once per
// test binary.
func millionEvents(b *testing.B) string {
	bigLog.once.Do(func() {
		dir, err := os.MkdirTemp("", "audit-bench")
		if err != nil {
			bigLog.err = err
			return
		}
		bigLog.dir = dir
		opts := Options{Node: "bench", CheckpointEvery: 10000, Clock: time.Now,
			openSegment: func(path string, flag int) (file, error) {
				f, err := os.OpenFile(path, flag, 0o600)
				return noSync{f}, err
			}}
		l, err := Open(dir, opts)
		if err != nil {
			bigLog.err = err
			return
		}
		// Events carry their own times, so appending them from several
		// goroutines would reorder time against sequence: one writer.
		for i := range bigEvents {
			if _, err := l.Append(context.Background(), benchEvent(i)); err != nil {
				bigLog.err = err
				return
			}
		}
		bigLog.vkey = l.VerifierKey()
		bigLog.err = l.Close(context.Background())
	})
	if bigLog.err != nil {
		b.Fatal(bigLog.err)
	}
	return bigLog.dir
}

func cleanupBench() {
	if bigLog.dir != "" {
		os.RemoveAll(bigLog.dir)
	}
}

// BenchmarkAppend64Writers measures durable appends (fsync, group commit)
// from 64 concurrent writers, with the default checkpoint and segment
// settings, and reports events/s and the 99th percentile latency of one
// Append.
func BenchmarkAppend64Writers(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Node: "bench", Clock: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(64 / max(1, runtimeProcs()))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			e := sampleEvent(int(next.Add(1)))
			t0 := time.Now()
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkVerify1M verifies a closed log of a million events from its
// folder: every record read, checked and hashed, every checkpoint checked.
func BenchmarkVerify1M(b *testing.B) {
	dir := millionEvents(b)
	v, err := NewVerifier(bigLog.vkey)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := Verify(context.Background(), Folder{Dir: dir}, v)
		if err != nil || !rep.OK() || rep.Events != bigEvents {
			b.Fatalf("%d events, %v, %v", rep.Events, err, rep.Problems)
		}
	}
}

// BenchmarkOpen1M opens a log of a million events: reading every segment,
// rebuilding the query index and checking the hash chain.
func BenchmarkOpen1M(b *testing.B) {
	dir := millionEvents(b)
	for b.Loop() {
		l, err := Open(dir, Options{Node: "bench", Clock: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := l.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkQuery1M runs auditors' queries over a million events.
func BenchmarkQuery1M(b *testing.B) {
	dir := millionEvents(b)
	l, err := Open(dir, Options{Node: "bench", Clock: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	week := benchStart.Add(200 * 24 * time.Hour)
	queries := []struct {
		name string
		q    Query
	}{
		{"actor+week", Query{Actor: "user-123", From: week, To: week.Add(7 * 24 * time.Hour)}},
		{"actor+all", Query{Actor: "user-123"}},
		{"denied+topsecret+week", Query{Outcomes: []Outcome{Denied}, Levels: []access.Level{access.TopSecret}, From: week, To: week.Add(7 * 24 * time.Hour)}},
		{"object", Query{Object: fmt.Sprintf("%032x", 4242)}},
		{"no-match-full-scan", Query{Actions: []string{"no_such_action_yet", "create"}, Outcomes: []Outcome{Failed}, Levels: []access.Level{access.TopSecret}}},
	}
	for _, c := range queries {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				p, err := l.Query(context.Background(), c.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(p.Entries)
			}
			b.ReportMetric(float64(n), "results")
		})
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
