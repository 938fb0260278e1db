package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"khomat/archive/access"
)

// matches is the reference the index must agree with.
func matches(q *Query, en *Entry) bool {
	switch {
	case !q.From.IsZero() && en.Time.Before(q.From),
		!q.To.IsZero() && !en.Time.Before(q.To),
		q.Actor != "" && en.Actor != q.Actor,
		q.Object != "" && en.Object != q.Object,
		q.QueryHash != "" && en.QueryHash != q.QueryHash,
		len(q.Actions) > 0 && !slices.Contains(q.Actions, en.Action),
		len(q.Outcomes) > 0 && !slices.Contains(q.Outcomes, en.Outcome),
		len(q.Levels) > 0 && !slices.Contains(q.Levels, en.Level):
		return false
	}
	return true
}

func TestQuery(t *testing.T) {
	t.Parallel()
	clock := newClock()
	opts := testOptions(clock)
	opts.CheckpointEvery = 100
	opts.SegmentBytes = 20 << 10 // several segments
	l := openLog(t, t.TempDir(), opts)
	defer closeLog(t, l)
	const n = 600
	var all []Entry
	for i := range n {
		clock.advance(time.Minute)
		if _, err := l.Append(t.Context(), sampleEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		en, err := l.Entry(t.Context(), uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, en)
	}
	mid := all[300].Time
	queries := map[string]Query{
		"everything":             {},
		"one actor":              {Actor: "user-007"},
		"one object":             {Object: all[10].Object},
		"actor and object":       {Actor: all[10].Actor, Object: all[10].Object},
		"actor and time":         {Actor: "user-007", From: mid, To: mid.Add(3 * time.Hour)},
		"denied on top secret":   {Outcomes: []Outcome{Denied}, Levels: []access.Level{access.TopSecret}},
		"downloads or reads":     {Actions: []string{"download", "read"}, From: mid},
		"repeats of one query":   {QueryHash: all[4].QueryHash},
		"before a time":          {To: mid},
		"unknown actor":          {Actor: "nobody"},
		"unknown action":         {Actions: []string{"fly"}},
		"empty time range":       {From: mid, To: mid},
		"failed by two actors":   {Outcomes: []Outcome{Failed}, Actor: "user-004"},
		"small pages of a level": {Levels: []access.Level{access.Secret}, Limit: 7},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var want []uint64
			for i := len(all) - 1; i >= 0; i-- {
				if matches(&q, &all[i]) {
					want = append(want, all[i].Seq)
				}
			}
			var got []uint64
			q := q
			if q.Limit == 0 {
				q.Limit = 50
			}
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatal("paging does not end")
				}
				p, err := l.Query(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Entries) > q.Limit {
					t.Fatalf("page of %d entries, limit %d", len(p.Entries), q.Limit)
				}
				for _, en := range p.Entries {
					if !matches(&q, &en) {
						t.Fatalf("entry %d does not match", en.Seq)
					}
					got = append(got, en.Seq)
				}
				if p.Next == 0 {
					break
				}
				q.Before = p.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %d events %v\nwant %d %v", len(got), head(got), len(want), head(want))
			}
		})
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 10)] }

func TestExportAndProofs(t *testing.T) {
	t.Parallel()
	clock := newClock()
	opts := testOptions(clock)
	opts.CheckpointEvery = 1000
	l := openLog(t, t.TempDir(), opts)
	defer closeLog(t, l)
	appendN(t, l, 0, 40)
	e := sampleEvent(40)
	e.Request = "=HYPERLINK(\"x\")"
	if _, err := l.Append(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	old, err := l.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 41, 19)

	t.Run("jsonl", func(t *testing.T) {
		var buf bytes.Buffer
		cp, err := l.Export(t.Context(), &buf, Query{Actor: "user-007"}, JSONLines)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != 60 {
			t.Fatalf("export checkpoint %d, want 60", cp.Size)
		}
		cp, err = OpenCheckpoint(cp.Note, l.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&buf)
		var seqs []uint64
		for sc.Scan() {
			var row struct {
				Entry
				Leaf string `json:"leaf"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			if row.Actor != "user-007" {
				t.Fatalf("exported %+v", row)
			}
			// What an auditor does with the export: recompute the leaf
			// from the fields and check it against the checkpoint.
			h, err := row.Entry.Hash()
			if err != nil || h.String() != row.Leaf {
				t.Fatalf("leaf %s, recomputed %s, %v", row.Leaf, h, err)
			}
			proof, err := l.InclusionProof(t.Context(), row.Seq, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckInclusion(cp, row.Entry, proof); err != nil {
				t.Fatal(err)
			}
			row.Entry.Actor = "user-008"
			if err := CheckInclusion(cp, row.Entry, proof); err == nil {
				t.Fatal("an altered event passed its inclusion proof")
			}
			seqs = append(seqs, row.Seq)
		}
		if !slices.Equal(seqs, []uint64{57, 7}) {
			t.Fatalf("exported %v", seqs)
		}
	})
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := l.Export(t.Context(), &buf, Query{}, CSV); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 61 || !slices.Equal(rows[0], csvHeader) {
			t.Fatalf("%d rows, header %v", len(rows), rows[0])
		}
		// Newest first: row 20 is event 40.
		if rows[20][0] != "40" || rows[20][14] != "'=HYPERLINK(\"x\")" {
			t.Fatalf("row of event 40: %v", rows[20])
		}
	})
	t.Run("consistency", func(t *testing.T) {
		cur, err := l.Checkpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		proof, err := l.ConsistencyProof(t.Context(), old.Size, cur.Size)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := OpenCheckpoint(old.Note, l.Verifier())
		c, _ := OpenCheckpoint(cur.Note, l.Verifier())
		if err := CheckConsistency(o, c, proof); err != nil {
			t.Fatal(err)
		}
		forked := c
		forked.Root[0] ^= 1
		if err := CheckConsistency(o, forked, proof); err == nil {
			t.Fatal("a forked checkpoint passed")
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		if _, err := l.InclusionProof(t.Context(), 5, 61); !errors.Is(err, ErrNotFound) {
			t.Errorf("proof in a tree larger than the log: %v", err)
		}
		if _, err := l.InclusionProof(t.Context(), 60, 60); !errors.Is(err, ErrNotFound) {
			t.Errorf("proof of an event outside the tree: %v", err)
		}
		if _, err := l.ConsistencyProof(t.Context(), 50, 40); !errors.Is(err, ErrNotFound) {
			t.Errorf("consistency backwards: %v", err)
		}
		if _, err := l.Entry(t.Context(), 1000); !errors.Is(err, ErrNotFound) {
			t.Errorf("Entry past the end: %v", err)
		}
		if _, err := l.Export(t.Context(), &bytes.Buffer{}, Query{}, "xml"); err == nil {
			t.Error("unknown format accepted")
		}
	})
}
