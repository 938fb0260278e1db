package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive/store"
)

// Source is a copy of a log for Verify: its segments and checkpoints, by
// the names the log gives them (20-digit numbers). Folder and Bucket are the
// two sources.
type Source interface {
	// List returns the names in dir ("segments" or "checkpoints") with
	// their sizes in bytes.
	List(ctx context.Context, dir string) ([]SourceFile, error)
	// Open reads one file; a nil rng reads it whole.
	Open(ctx context.Context, dir, name string, rng *store.Range) (io.ReadCloser, error)
}

// SourceFile is a file of a Source.
type SourceFile struct {
	Name string
	Size int64
}

// Folder is a log's local folder as a Source.
type Folder struct{ Dir string }

// List implements Source.
func (f Folder) List(ctx context.Context, dir string) ([]SourceFile, error) {
	entries, err := os.ReadDir(filepath.Join(f.Dir, dir))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []SourceFile
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		out = append(out, SourceFile{Name: e.Name(), Size: fi.Size()})
	}
	return out, nil
}

// Open implements Source.
func (f Folder) Open(ctx context.Context, dir, name string, rng *store.Range) (io.ReadCloser, error) {
	fh, err := os.Open(filepath.Join(f.Dir, dir, name))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if rng == nil {
		return fh, nil
	}
	n := rng.Length
	if n < 0 {
		n = 1 << 62
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(fh, rng.Offset, n), fh}, nil
}

// Bucket is the copy of a node's log in the object store as a Source.
type Bucket struct {
	Store store.Store
	Node  string
}

// List implements Source.
func (b Bucket) List(ctx context.Context, dir string) ([]SourceFile, error) {
	prefix := bucketPrefix(b.Node) + dir + "/"
	var out []SourceFile
	for info, err := range b.Store.List(ctx, prefix, "") {
		if err != nil {
			return nil, fmt.Errorf("audit: listing %s: %w", prefix, err)
		}
		out = append(out, SourceFile{Name: strings.TrimPrefix(info.Key, prefix), Size: info.Size})
	}
	return out, nil
}

// Open implements Source.
func (b Bucket) Open(ctx context.Context, dir, name string, rng *store.Range) (io.ReadCloser, error) {
	r, _, err := b.Store.Get(ctx, bucketPrefix(b.Node)+dir+"/"+name, rng)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return r, nil
}

// ProblemKind says what is wrong.
type ProblemKind string

// What Verify finds.
const (
	// Altered: an event's bytes are not those the log wrote (its checksum
	// fails, it does not decode, the next event's hash link does not
	// match it, or a range of events does not hash to a signed root).
	Altered ProblemKind = "altered"
	// Removed: events are missing in the middle of the log, or a whole
	// segment is.
	Removed ProblemKind = "removed"
	// Reordered: events (or segments) are stored out of sequence order.
	Reordered ProblemKind = "reordered"
	// Appended: events no signed checkpoint covers, a second copy of an
	// event, or a file the log did not write.
	Appended ProblemKind = "appended"
	// Truncated: the log ends before the size of a signed checkpoint.
	Truncated ProblemKind = "truncated"
	// Damaged: bytes that are not a record (a torn write, garbage, a
	// broken length field); events after them in the segment are lost.
	Damaged ProblemKind = "damaged"
	// BadCheckpoint: a checkpoint whose signature, origin or form is
	// wrong.
	BadCheckpoint ProblemKind = "bad_checkpoint"
)

// Problem is one finding of Verify.
type Problem struct {
	Kind ProblemKind
	// Segment names the segment concerned (or, for Appended files, the
	// stray file).
	Segment string
	// Seq and End are the events concerned: [Seq, End).
	Seq, End uint64
	// Checkpoint is the size of the checkpoint concerned, if any.
	Checkpoint uint64
	// Detail says it in words.
	Detail string
}

// String describes the problem in one line, as a report prints it.
func (p Problem) String() string {
	s := string(p.Kind)
	if p.Segment != "" {
		s += " segment " + p.Segment
	}
	switch {
	case p.End == p.Seq+1:
		s += fmt.Sprintf(" event %d", p.Seq)
	case p.End > p.Seq:
		s += fmt.Sprintf(" events %d-%d", p.Seq, p.End-1)
	}
	if p.Checkpoint > 0 {
		s += fmt.Sprintf(" checkpoint %d", p.Checkpoint)
	}
	return s + ": " + p.Detail
}

// Report is what Verify found.
type Report struct {
	// Events and Segments count what was read.
	Events   uint64
	Segments int
	// Checkpoints counts the checkpoints whose signature verified.
	Checkpoints int
	// Size and Root are those of the newest checkpoint whose root the
	// events reproduce: everything up to Size is proven intact.
	Size uint64
	Root tlog.Hash
	// Problems lists every finding, by event number.
	Problems []Problem
}

// OK reports whether Verify found nothing wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify re-reads a whole log from src and checks it with only the public
// key: every checkpoint's signature, every record's checksum and encoding,
// the sequence numbers and hash links between events, and the tree root
// that every checkpoint signs (so consecutive checkpoints are consistent:
// each is a prefix of the one log). It reports exactly which event or
// segment was altered, removed, reordered, truncated or appended. The error
// is for a source that cannot be read, never for what was found in it.
func Verify(ctx context.Context, src Source, v note.Verifier) (Report, error) {
	vr := &verifier{src: src, v: v}
	if err := vr.checkpoints(ctx); err != nil {
		return Report{}, err
	}
	if err := vr.segments(ctx); err != nil {
		return Report{}, err
	}
	vr.analyse()
	slices.SortStableFunc(vr.problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Checkpoint, b.Checkpoint))
	})
	vr.report.Problems = vr.problems
	return vr.report, nil
}

type verifier struct {
	src      Source
	v        note.Verifier
	report   Report
	problems []Problem
	cps      []Checkpoint // valid, by size

	segs []segRead
	// Per event, indexed by sequence number.
	leaf    []tlog.Hash
	prev    []tlog.Hash
	state   []uint8 // bit flags below
	segOf   []int32
	order   []uint64 // sequence numbers in the order stored (first copies)
	damaged map[uint64]int
}

const (
	present   = 1 << iota
	prevKnown // the record decoded, so its prev field is known
	flagged   // already reported as altered
)

type segRead struct {
	name        string
	first       uint64
	size        int64
	minSeq, max uint64
	records     uint64
}

func (vr *verifier) add(p Problem) { vr.problems = append(vr.problems, p) }

func (vr *verifier) checkpoints(ctx context.Context) error {
	files, err := vr.src.List(ctx, checkpointsDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		size, ok := parseSeqName(f.Name)
		if !ok {
			vr.add(Problem{Kind: Appended, Segment: checkpointsDir + "/" + f.Name, Detail: "a file the log did not write"})
			continue
		}
		r, err := vr.src.Open(ctx, checkpointsDir, f.Name, nil)
		if err != nil {
			return err
		}
		msg, err := io.ReadAll(io.LimitReader(r, 1<<16))
		r.Close()
		if err != nil {
			return fmt.Errorf("audit: reading checkpoint %s: %w", f.Name, err)
		}
		cp, err := OpenCheckpoint(msg, vr.v)
		switch {
		case err != nil:
			vr.add(Problem{Kind: BadCheckpoint, Seq: size, End: size, Checkpoint: size, Detail: err.Error()})
		case cp.Size != size:
			vr.add(Problem{Kind: BadCheckpoint, Seq: size, End: size, Checkpoint: size, Detail: fmt.Sprintf("file named %s holds checkpoint %d", f.Name, cp.Size)})
		default:
			vr.cps = append(vr.cps, cp)
		}
	}
	slices.SortFunc(vr.cps, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	vr.report.Checkpoints = len(vr.cps)
	return nil
}

func (vr *verifier) segments(ctx context.Context) error {
	files, err := vr.src.List(ctx, segmentsDir)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		n, ok := parseSeqName(f.Name)
		if !ok {
			vr.add(Problem{Kind: Appended, Segment: segmentsDir + "/" + f.Name, Detail: "a file the log did not write"})
			continue
		}
		r, err := vr.src.Open(ctx, segmentsDir, f.Name, &store.Range{Length: segHeaderLen})
		if err != nil {
			return err
		}
		hdr, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("audit: reading segment %s: %w", f.Name, err)
		}
		first, err := parseHeader(hdr)
		if err != nil {
			vr.add(Problem{Kind: Damaged, Segment: f.Name, Seq: n, End: n, Detail: "segment header: " + err.Error()})
			first = n
		} else if first != n {
			vr.add(Problem{Kind: Reordered, Segment: f.Name, Seq: first, End: first, Detail: fmt.Sprintf("segment file %s holds the segment that starts at event %d", f.Name, first)})
		}
		vr.segs = append(vr.segs, segRead{name: f.Name, first: first, size: f.Size})
		total += f.Size
	}
	// Read segments in the order their headers give, so a renamed
	// segment is reported once, not as every event it holds.
	slices.SortStableFunc(vr.segs, func(a, b segRead) int { return cmp.Compare(a.first, b.first) })
	vr.report.Segments = len(vr.segs)
	// No sequence number beyond this is plausible: every record takes at
	// least minFrame bytes.
	const minFrame = frameOverhead + headLen + 2*10 + 1 + 1 + 4 + 2
	bound := uint64(total/minFrame) + 1
	if len(vr.cps) > 0 {
		bound += vr.cps[len(vr.cps)-1].Size
	}
	for i := range vr.segs {
		if err := vr.segment(ctx, i, bound); err != nil {
			return err
		}
	}
	return nil
}

func (vr *verifier) segment(ctx context.Context, si int, bound uint64) error {
	sr := &vr.segs[si]
	r, err := vr.src.Open(ctx, segmentsDir, sr.name, nil)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return fmt.Errorf("audit: reading segment %s: %w", sr.name, err)
	}
	expect := sr.first
	sr.minSeq = ^uint64(0)
	for off := segHeaderLen; off < len(data); {
		payload, n, ferr := parseFrame(data[off:])
		if ferr != nil && !errors.Is(ferr, errChecksum) {
			vr.add(Problem{Kind: Damaged, Segment: sr.name, Seq: expect, End: expect,
				Detail: fmt.Sprintf("%d bytes at offset %d are not a record: %v", len(data)-off, off, ferr)})
			if vr.damaged == nil {
				vr.damaged = map[uint64]int{}
			}
			vr.damaged[expect] = len(vr.problems) - 1
			break
		}
		seq, flags := expect, uint8(present)
		var en Entry
		switch derr := en.UnmarshalBinary(payload); {
		case ferr != nil:
			vr.add(Problem{Kind: Altered, Segment: sr.name, Seq: expect, End: expect + 1, Detail: fmt.Sprintf("record at offset %d fails its checksum", off)})
			flags |= flagged
		case derr != nil:
			vr.add(Problem{Kind: Altered, Segment: sr.name, Seq: expect, End: expect + 1, Detail: fmt.Sprintf("record at offset %d: %v", off, derr)})
			flags |= flagged
		case en.Seq >= bound:
			vr.add(Problem{Kind: Altered, Segment: sr.name, Seq: expect, End: expect + 1, Detail: fmt.Sprintf("record at offset %d claims impossible event number %d", off, en.Seq)})
			flags |= flagged
		default:
			seq = en.Seq
			flags |= prevKnown
		}
		vr.report.Events++
		sr.records++
		sr.minSeq, sr.max = min(sr.minSeq, seq), max(sr.max, seq)
		vr.place(seq, tlog.RecordHash(payload), en.Prev, flags, si)
		expect = seq + 1
		off += n
	}
	if sr.records == 0 {
		sr.minSeq = sr.first
	}
	return ctx.Err()
}

func (vr *verifier) place(seq uint64, leaf, prev tlog.Hash, flags uint8, si int) {
	if seq < uint64(len(vr.state)) && vr.state[seq]&present != 0 {
		vr.add(Problem{Kind: Appended, Segment: vr.segs[si].name, Seq: seq, End: seq + 1, Detail: "a second copy of the event"})
		return
	}
	for uint64(len(vr.state)) <= seq {
		vr.leaf = append(vr.leaf, tlog.Hash{})
		vr.prev = append(vr.prev, tlog.Hash{})
		vr.state = append(vr.state, 0)
		vr.segOf = append(vr.segOf, -1)
	}
	vr.leaf[seq], vr.prev[seq], vr.state[seq], vr.segOf[seq] = leaf, prev, flags, int32(si)
	vr.order = append(vr.order, seq)
}

// segName names the segment that holds event seq, or should.
func (vr *verifier) segName(seq uint64) string {
	if seq < uint64(len(vr.segOf)) && vr.segOf[seq] >= 0 {
		return vr.segs[vr.segOf[seq]].name
	}
	i, _ := slices.BinarySearchFunc(vr.segs, seq, func(s segRead, t uint64) int { return cmp.Compare(s.first, t+1) })
	if i == 0 {
		return seqName(seq)
	}
	return vr.segs[i-1].name
}

func (vr *verifier) analyse() {
	n := uint64(len(vr.state))
	var lastCP uint64
	if len(vr.cps) > 0 {
		lastCP = vr.cps[len(vr.cps)-1].Size
	}
	vr.missing(n, lastCP)
	vr.reordered()
	vr.links(n)
	vr.tree(n)
	if n > lastCP {
		// Events after the newest checkpoint: no signature vouches for
		// them. A running log has a few; a closed one has none.
		first := lastCP
		for first < n && vr.state[first]&present == 0 {
			first++
		}
		if first < n {
			vr.add(Problem{Kind: Appended, Segment: vr.segName(first), Seq: first, End: n, Detail: "no signed checkpoint covers these events"})
		}
	}
}

// missing reports the gaps in the sequence numbers.
func (vr *verifier) missing(n, lastCP uint64) {
	total := max(n, lastCP)
	cpAt := map[uint64]bool{}
	for _, cp := range vr.cps {
		cpAt[cp.Size] = true
	}
	for a := uint64(0); a < total; a++ {
		if a < n && vr.state[a]&present != 0 {
			continue
		}
		b := a + 1
		for b < total && (b >= n || vr.state[b]&present == 0) {
			b++
		}
		switch i, ok := vr.damaged[a]; {
		case ok:
			vr.problems[i].End = b
		case a == n:
			vr.add(Problem{Kind: Truncated, Segment: vr.segName(a), Seq: a, End: b,
				Detail: fmt.Sprintf("the log ends at event %d but checkpoint %d covers %d events", a, lastCP, lastCP)})
		case cpAt[a] && !vr.segHolds(a):
			vr.add(Problem{Kind: Removed, Segment: seqName(a), Seq: a, End: b, Detail: "a whole segment is missing"})
		default:
			vr.add(Problem{Kind: Removed, Segment: vr.segName(a), Seq: a, End: b, Detail: "events are missing"})
		}
		a = b
	}
}

// segHolds reports whether a segment's records span event seq.
func (vr *verifier) segHolds(seq uint64) bool {
	for _, s := range vr.segs {
		if s.records > 0 && s.minSeq <= seq && seq <= s.max {
			return true
		}
	}
	return false
}

// reordered reports the runs of events stored out of order: positions
// where the stored order differs from the sorted one.
func (vr *verifier) reordered() {
	if slices.IsSorted(vr.order) {
		return
	}
	sorted := slices.Sorted(slices.Values(vr.order))
	for p := 0; p < len(vr.order); p++ {
		if vr.order[p] == sorted[p] {
			continue
		}
		q := p
		for q < len(vr.order) && vr.order[q] != sorted[q] {
			q++
		}
		run := vr.order[p:q]
		shown := run
		if len(shown) > 8 {
			shown = shown[:8]
		}
		nums := make([]string, len(shown))
		for i, s := range shown {
			nums[i] = fmt.Sprint(s)
		}
		detail := "stored in the order " + strings.Join(nums, ", ")
		if len(run) > len(shown) {
			detail += ", ..."
		}
		if len(run) == 1 {
			detail = fmt.Sprintf("event %d is stored where event %d belongs", run[0], sorted[p])
		}
		vr.add(Problem{Kind: Reordered, Segment: vr.segName(sorted[p]), Seq: sorted[p], End: sorted[q-1] + 1, Detail: detail})
		p = q
	}
}

// links checks that each event names the leaf hash of the one before it.
func (vr *verifier) links(n uint64) {
	for s := uint64(0); s < n; s++ {
		st := vr.state[s]
		if st&present == 0 || st&prevKnown == 0 {
			continue
		}
		if s == 0 {
			if vr.prev[0] != (tlog.Hash{}) && st&flagged == 0 {
				vr.state[0] |= flagged
				vr.add(Problem{Kind: Altered, Segment: vr.segName(0), Seq: 0, End: 1, Detail: "the first event names a predecessor"})
			}
			continue
		}
		ps := vr.state[s-1]
		if ps&present == 0 || ps&flagged != 0 || vr.prev[s] == vr.leaf[s-1] {
			continue
		}
		vr.state[s-1] |= flagged
		vr.add(Problem{Kind: Altered, Segment: vr.segName(s - 1), Seq: s - 1, End: s,
			Detail: fmt.Sprintf("the event does not match the hash that event %d records of it", s)})
	}
}

// tree recomputes the root at every checkpoint size. A mismatch that no
// finding before it explains is reported as the range of events since the
// last checkpoint that matched.
func (vr *verifier) tree(n uint64) {
	var frontier []tlog.Hash // roots of the complete subtrees, largest first
	var sizes []uint64
	var good uint64
	ci := 0
	explained := func(c uint64) bool {
		for _, p := range vr.problems {
			switch p.Kind {
			case Altered, Removed, Damaged, Truncated:
				if p.Seq < c {
					return true
				}
			}
		}
		return false
	}
	for s := uint64(0); s <= n && ci < len(vr.cps); s++ {
		for ci < len(vr.cps) && vr.cps[ci].Size == s {
			cp := vr.cps[ci]
			ci++
			root := tlog.Hash{}
			if len(frontier) > 0 {
				root = frontier[len(frontier)-1]
				for i := len(frontier) - 2; i >= 0; i-- {
					root = tlog.NodeHash(frontier[i], root)
				}
			}
			if root == cp.Root {
				good = s
				vr.report.Size, vr.report.Root = cp.Size, cp.Root
				continue
			}
			if !explained(cp.Size) {
				vr.add(Problem{Kind: Altered, Segment: vr.segName(good), Seq: good, End: cp.Size, Checkpoint: cp.Size,
					Detail: fmt.Sprintf("events %d-%d do not hash to the root signed by checkpoint %d", good, cp.Size-1, cp.Size)})
			}
		}
		if s == n || vr.state[s]&present == 0 {
			return // the tree cannot go past a missing event
		}
		frontier, sizes = append(frontier, vr.leaf[s]), append(sizes, 1)
		for len(sizes) > 1 && sizes[len(sizes)-1] == sizes[len(sizes)-2] {
			k := len(frontier)
			frontier = append(frontier[:k-2], tlog.NodeHash(frontier[k-2], frontier[k-1]))
			sizes = append(sizes[:k-2], 2*sizes[k-2])
		}
	}
}
