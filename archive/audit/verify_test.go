package audit

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The tamper fixture: 60 events in three segments of 20 (0-19, 20-39,
// 40-59) and an empty active segment 60, with checkpoints every 10 events.
var fixture struct {
	once sync.Once
	dir  string
	vkey string
	err  error
}

func tamperFixture(t *testing.T) (string, note.Verifier) {
	t.Helper()
	fixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "audit-fixture")
		if err != nil {
			fixture.err = err
			return
		}
		fixture.dir = dir
		clock := newClock()
		opts := testOptions(clock)
		opts.CheckpointEvery = 1000
		l, err := Open(dir, opts)
		for i := 0; err == nil && i < 60; i++ {
			if _, err = l.Append(t.Context(), sampleEvent(i)); err != nil {
				break
			}
			switch {
			case (i+1)%20 == 0:
				if err = l.Close(t.Context()); err == nil && i < 59 {
					l, err = Open(dir, opts)
				}
			case (i+1)%10 == 0:
				_, err = l.Checkpoint(t.Context())
			}
		}
		if err == nil {
			fixture.vkey = l.VerifierKey()
		}
		fixture.err = err
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fixture.dir)); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(fixture.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return dir, v
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	cleanupBench()
	os.Exit(code)
}

func segPath(dir string, first uint64) string {
	return filepath.Join(dir, segmentsDir, seqName(first))
}

// readEntries decodes a segment's records.
func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for off := segHeaderLen; off < len(data); {
		payload, n, err := parseFrame(data[off:])
		if err != nil {
			t.Fatal(err)
		}
		var en Entry
		if err := en.UnmarshalBinary(payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, en)
		off += n
	}
	return out
}

// writeEntries writes a segment as the log would, checksums and all: the
// tampering of someone who knows the format.
func writeEntries(t *testing.T, path string, first uint64, entries []Entry) {
	t.Helper()
	b := appendHeader(nil, first)
	for i := range entries {
		enc, err := entries[i].MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b = appendFrame(b, enc)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func editSegment(t *testing.T, dir string, first uint64, edit func([]Entry) []Entry) {
	t.Helper()
	p := segPath(dir, first)
	writeEntries(t, p, first, edit(readEntries(t, p)))
}

func entryHash(t *testing.T, en *Entry) tlog.Hash {
	h, err := en.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	s0, s20, s40, s60 := seqName(0), seqName(20), seqName(40), seqName(60)
	_ = s0
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   []Problem
	}{
		{"intact", func(t *testing.T, dir string) {}, nil},
		{"event altered, checksum fixed", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { es[5].Actor = "mallory"; return es })
		}, []Problem{{Kind: Altered, Segment: s20, Seq: 25, End: 26}}},
		{"event altered, checksum not fixed", func(t *testing.T, dir string) {
			p := segPath(dir, 20)
			data, _ := os.ReadFile(p)
			i := strings.Index(string(data), "req-25")
			data[i+4] = '9'
			os.WriteFile(p, data, 0o600)
		}, []Problem{{Kind: Altered, Segment: s20, Seq: 25, End: 26}}},
		{"first event altered", func(t *testing.T, dir string) {
			editSegment(t, dir, 0, func(es []Entry) []Entry { es[0].Outcome = Allowed; es[0].Reason = "x"; return es })
		}, []Problem{{Kind: Altered, Segment: s0, Seq: 0, End: 1}}},
		{"event removed", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { return append(es[:5], es[6:]...) })
		}, []Problem{{Kind: Removed, Segment: s20, Seq: 25, End: 26}}},
		{"events removed", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { return append(es[:3], es[9:]...) })
		}, []Problem{{Kind: Removed, Segment: s20, Seq: 23, End: 29}}},
		{"segment removed", func(t *testing.T, dir string) {
			os.Remove(segPath(dir, 20))
		}, []Problem{{Kind: Removed, Segment: s20, Seq: 20, End: 40}}},
		{"events reordered", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { es[5], es[6] = es[6], es[5]; return es })
		}, []Problem{{Kind: Reordered, Segment: s20, Seq: 25, End: 27}}},
		{"distant events swapped", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { es[2], es[17] = es[17], es[2]; return es })
		}, []Problem{{Kind: Reordered, Segment: s20, Seq: 22, End: 23}, {Kind: Reordered, Segment: s20, Seq: 37, End: 38}}},
		{"segments swapped", func(t *testing.T, dir string) {
			os.Rename(segPath(dir, 20), filepath.Join(dir, "x"))
			os.Rename(segPath(dir, 40), segPath(dir, 20))
			os.Rename(filepath.Join(dir, "x"), segPath(dir, 40))
		}, []Problem{
			{Kind: Reordered, Segment: s40, Seq: 20, End: 20},
			{Kind: Reordered, Segment: s20, Seq: 40, End: 40},
		}},
		{"event appended", func(t *testing.T, dir string) {
			last := readEntries(t, segPath(dir, 40))[19]
			forged := Entry{Seq: 60, Prev: entryHash(t, &last), Event: last.Event}
			forged.Actor = "mallory"
			writeEntries(t, segPath(dir, 60), 60, []Entry{forged})
		}, []Problem{{Kind: Appended, Segment: s60, Seq: 60, End: 61}}},
		{"event duplicated", func(t *testing.T, dir string) {
			editSegment(t, dir, 20, func(es []Entry) []Entry { return append(es, es[5]) })
		}, []Problem{{Kind: Appended, Segment: s20, Seq: 25, End: 26}}},
		{"log truncated", func(t *testing.T, dir string) {
			os.Remove(segPath(dir, 60))
			editSegment(t, dir, 40, func(es []Entry) []Entry { return es[:10] })
		}, []Problem{{Kind: Truncated, Segment: s40, Seq: 50, End: 60}}},
		{"torn tail", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(segPath(dir, 60), os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte{0, 0, 0, 200, 1, 2, 3})
			f.Close()
		}, []Problem{{Kind: Damaged, Segment: s60, Seq: 60, End: 60}}},
		{"length field broken mid-segment", func(t *testing.T, dir string) {
			p := segPath(dir, 20)
			data, _ := os.ReadFile(p)
			off := segHeaderLen
			for range 5 {
				_, n, _ := parseFrame(data[off:])
				off += n
			}
			data[off] = 0xff
			os.WriteFile(p, data, 0o600)
		}, []Problem{{Kind: Damaged, Segment: s20, Seq: 25, End: 40}}},
		{"altered and hash links rewritten", func(t *testing.T, dir string) {
			// The tamperer knows the format and rewrites every link after
			// the change; only the signed roots catch it.
			var prev tlog.Hash
			for _, first := range []uint64{0, 20, 40} {
				editSegment(t, dir, first, func(es []Entry) []Entry {
					for i := range es {
						if es[i].Seq == 25 {
							es[i].Actor = "mallory"
						}
						if es[i].Seq > 25 {
							es[i].Prev = prev
						}
						prev = entryHash(t, &es[i])
					}
					return es
				})
			}
		}, []Problem{{Kind: Altered, Segment: s20, Seq: 20, End: 30, Checkpoint: 30}}},
		{"checkpoint altered", func(t *testing.T, dir string) {
			p := filepath.Join(dir, checkpointsDir, seqName(30))
			data, _ := os.ReadFile(p)
			lines := strings.SplitN(string(data), "\n", 4)
			lines[2] = "AAAA" + lines[2][4:]
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
		}, []Problem{{Kind: BadCheckpoint, Seq: 30, End: 30, Checkpoint: 30}}},
		{"checkpoint signed by another key", func(t *testing.T, dir string) {
			skey, _, _ := note.GenerateKey(rand.Reader, "khomat-audit/node1")
			s, _ := note.NewSigner(skey)
			cp, _ := signCheckpoint(s, 30, tlog.Hash{})
			os.WriteFile(filepath.Join(dir, checkpointsDir, seqName(30)), cp.Note, 0o644)
		}, []Problem{{Kind: BadCheckpoint, Seq: 30, End: 30, Checkpoint: 30}}},
		{"checkpoint renamed", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, checkpointsDir, seqName(30)), filepath.Join(dir, checkpointsDir, seqName(31)))
		}, []Problem{{Kind: BadCheckpoint, Seq: 31, End: 31, Checkpoint: 31}}},
		{"stray file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, segmentsDir, "notes.txt"), []byte("x"), 0o600)
		}, []Problem{{Kind: Appended, Segment: "segments/notes.txt"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, v := tamperFixture(t)
			c.tamper(t, dir)
			rep, err := Verify(t.Context(), Folder{Dir: dir}, v)
			if err != nil {
				t.Fatal(err)
			}
			got := rep.Problems
			for i := range got {
				if got[i].Detail == "" {
					t.Errorf("problem without detail: %+v", got[i])
				}
				got[i].Detail = ""
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("problems:\n got %+v\nwant %+v", got, c.want)
				for _, p := range rep.Problems {
					t.Log(p)
				}
			}
		})
	}
}
