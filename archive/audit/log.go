package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive/store"
)

// Errors of the log. Callers test them with errors.Is.
var (
	// ErrUnavailable means the log could not make an event durable (a
	// write or fsync failed) and refuses every append until it is
	// reopened: the caller must refuse the action it was recording.
	ErrUnavailable = errors.New("audit log unavailable")
	// ErrClosed means the log has been closed.
	ErrClosed = errors.New("audit log closed")
	// ErrCorrupt means the log on disk is damaged in a way recovery must
	// not repair on its own (a bad record before the tail, events missing
	// under a signed checkpoint): run Verify and investigate.
	ErrCorrupt = errors.New("audit log damaged")
	// ErrNotFound means no event or checkpoint of that number exists.
	ErrNotFound = errors.New("audit entry not found")
)

// Options configures a Log. Only Node is required.
type Options struct {
	// Node names this node's log: it is the checkpoint origin
	// ("khomat-audit/<node>") and the folder under audit/ in the bucket.
	// Lower-case letters, digits, '.', '_' and '-', at most 64.
	Node string
	// Store, when set, receives copies of completed segments and
	// checkpoints under audit/<node>/.
	Store store.Store
	// CheckpointEvery and CheckpointInterval bound how many events and
	// how long an event waits before a signed checkpoint covers it
	// (defaults 1000 events, 10 s).
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// SegmentBytes and SegmentAge bound a segment (defaults 16 MiB, at
	// most 1 GiB, and 1 h):
	// a full or old segment is completed, checkpointed and copied to the
	// store, and a new one is started.
	SegmentBytes int64
	SegmentAge   time.Duration
	// RetainFor is the object-lock retention of copies in the store
	// (default 10 years; negative for none), in RetentionMode (default
	// Compliance: nobody can delete before it ends). A store without
	// object lock gets plain copies.
	RetainFor     time.Duration
	RetentionMode store.RetentionMode
	// CopyRetry is the first delay before a failed copy is retried; it
	// doubles up to 64 times that (default 1 s).
	CopyRetry time.Duration
	// Clock gives the time of events with no Time, of checkpoints and of
	// retention (default time.Now).
	Clock func() time.Time
	// Tick is how often the background loop looks at the clock for due
	// checkpoints and old segments (default 1 s).
	Tick time.Duration
	// Logger receives operational messages (default: discarded).
	Logger *slog.Logger
	// Rand is the randomness for new keys (default crypto/rand).
	Rand io.Reader

	// openSegment opens a segment file for appending; tests inject
	// faults through it.
	openSegment func(path string, flag int) (file, error)
}

var nodeName = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

func (o *Options) normalize() error {
	if !nodeName.MatchString(o.Node) || o.Node == "." || o.Node == ".." {
		return fmt.Errorf("audit: node name %q: use 1 to 64 of a-z 0-9 . _ -", o.Node)
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	// Record offsets in the index are 32-bit.
	o.SegmentBytes = min(o.SegmentBytes, 1<<30)
	if o.SegmentAge <= 0 {
		o.SegmentAge = time.Hour
	}
	if o.RetainFor == 0 {
		o.RetainFor = 10 * 365 * 24 * time.Hour
	}
	if o.RetentionMode == "" {
		o.RetentionMode = store.Compliance
	}
	if o.CopyRetry <= 0 {
		o.CopyRetry = time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.openSegment == nil {
		o.openSegment = func(path string, flag int) (file, error) {
			return os.OpenFile(path, flag, 0o600)
		}
	}
	return nil
}

// Log is a node's audit log: a folder of segment files, signed checkpoints
// and the key that signs them. Its methods are safe for concurrent use.
type Log struct {
	dir      string
	opts     Options
	log      *slog.Logger
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	queries  *QueryHasher
	lock     *os.File
	hashes   *hashStore
	idx      *index

	mu       sync.Mutex
	cond     *sync.Cond
	size     uint64    // next sequence number
	durable  uint64    // events [0, durable) are on disk
	lastHash tlog.Hash // leaf hash of event size-1
	lastTime int64
	writing  bool // the write token: its holder alone writes segments
	err      error
	closed   bool
	pend     *batch
	spare    *batch
	cp       Checkpoint // the newest checkpoint
	unsigned time.Time  // when the first event not covered by cp became durable

	cpMu sync.Mutex // serialises the making of checkpoints

	// Owned by the write token holder.
	seg *segment

	segsMu sync.RWMutex
	segs   []segmentInfo // every segment, oldest first

	kick     chan struct{}
	started  bool // the background goroutines run
	copier   *copier
	stop     chan struct{}
	loopDone sync.WaitGroup
}

// segment is the active segment.
type segment struct {
	f       file
	first   uint64
	count   uint64
	size    int64
	created time.Time
}

// segmentInfo locates a segment for readers.
type segmentInfo struct {
	first uint64
	name  string
}

// batch is events waiting for the next group commit.
type batch struct {
	buf    []byte      // their framed records
	leaves []tlog.Hash // their leaf hashes
	events []Event     // as recorded (time set)
	offs   []uint32    // their offsets in buf
}

func (b *batch) reset() {
	b.buf, b.leaves, b.events, b.offs = b.buf[:0], b.leaves[:0], b.events[:0], b.offs[:0]
}

// Open opens the audit log in dir, creating it (and its keys) if the folder
// holds no log yet. It recovers from a crash: a torn record at the tail of
// the last segment is cut, its bytes kept under torn/ and an audit_recover
// event appended; damage anywhere else gives ErrCorrupt. One process owns
// the folder at a time.
func Open(dir string, opts Options) (*Log, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, filepath.Join(dir, segmentsDir), filepath.Join(dir, checkpointsDir), filepath.Join(dir, tmpDir), filepath.Join(dir, tornDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("audit: %s is in use by another process: %w", dir, err)
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger, lock: lock, idx: newIndex(),
		pend: &batch{}, spare: &batch{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	if err := l.open(); err != nil {
		if l.started {
			l.shutdown()
			return nil, err
		}
		if l.hashes != nil {
			l.hashes.close()
		}
		if l.seg != nil {
			l.seg.f.Close()
		}
		lock.Close()
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	segNames, _, err := listNames(filepath.Join(l.dir, segmentsDir))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := l.loadKeys(len(segNames) > 0); err != nil {
		return err
	}
	// Leftovers of writes a crash interrupted.
	err = os.RemoveAll(filepath.Join(l.dir, tmpDir))
	if err == nil {
		err = os.MkdirAll(filepath.Join(l.dir, tmpDir), 0o700)
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := l.loadCheckpoint(); err != nil {
		return err
	}
	if l.hashes, err = openHashStore(filepath.Join(l.dir, hashesFile)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := l.hashes.reset(int64(l.cp.Size), true); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if l.cp.Size > 0 && l.hashes.leaves == int64(l.cp.Size) {
		root, err := tlog.TreeHash(int64(l.cp.Size), l.hashes)
		if err != nil || root != l.cp.Root {
			l.log.Warn("audit: tree hashes do not match the last checkpoint; rebuilding them from the segments")
			if err := l.hashes.reset(0, false); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
	}

	torn, err := l.scan(segNames)
	if err != nil {
		return err
	}
	if l.size < l.cp.Size {
		return fmt.Errorf("audit: %w: checkpoint %d was signed but the log ends at %d events", ErrCorrupt, l.cp.Size, l.size)
	}
	if int64(l.size) != l.hashes.leaves {
		return fmt.Errorf("audit: %w: tree hashes cover %d events of %d", ErrCorrupt, l.hashes.leaves, l.size)
	}
	l.durable = l.size
	if err := l.openActive(); err != nil {
		return err
	}
	now := l.opts.Clock()
	if l.durable > l.cp.Size {
		l.unsigned = now
	}
	if l.opts.Store != nil {
		l.copier = newCopier(l)
	}
	l.started = true
	l.loopDone.Add(1)
	go l.loop()
	if l.copier != nil {
		l.loopDone.Add(1)
		go l.copier.run(l.stop, &l.loopDone)
	}
	if torn != "" {
		// The log records its own repair, so the cut is in the signed
		// history, not only in an operator's message.
		e := Event{Actor: SystemActor, Action: ActionAuditRecover, Outcome: Allowed, Reason: "torn_tail", Detail: torn}
		if _, err := l.Append(context.Background(), e); err != nil {
			return err
		}
	}
	if l.durable > l.cp.Size {
		if _, err := l.makeCheckpoint(l.durable); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// loadKeys reads the signing, verifier and query keys, creating them for
// a new log. A log with segments but no key is not given a new key: its
// checkpoints would no longer verify.
func (l *Log) loadKeys(existing bool) error {
	origin := Origin(l.opts.Node)
	skeyPath := filepath.Join(l.dir, signerFile)
	skey, err := readKeyFile(skeyPath)
	if errors.Is(err, os.ErrNotExist) {
		if existing {
			return fmt.Errorf("audit: %w: %s is missing but the log has segments", ErrCorrupt, skeyPath)
		}
		if skey, err = l.newKeys(origin); err != nil {
			return fmt.Errorf("audit: creating keys: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("audit: reading signer key: %w", err)
	}
	if l.signer, err = note.NewSigner(skey); err != nil {
		return fmt.Errorf("audit: signer key: %w", err)
	}
	if l.signer.Name() != origin {
		return fmt.Errorf("audit: the signer key is named %q, not %q: wrong node name or key", l.signer.Name(), origin)
	}
	if l.vkey, err = readKeyFile(filepath.Join(l.dir, verifierFile)); err != nil {
		return fmt.Errorf("audit: reading verifier key: %w", err)
	}
	if l.verifier, err = NewVerifier(l.vkey); err != nil {
		return err
	}
	if l.verifier.KeyHash() != l.signer.KeyHash() || l.verifier.Name() != origin {
		return fmt.Errorf("audit: verifier.key does not belong to signer.key")
	}
	qkey, err := readKeyFile(filepath.Join(l.dir, queryKeyFile))
	if err != nil {
		return fmt.Errorf("audit: reading query key: %w", err)
	}
	raw, err := hex.DecodeString(qkey)
	if err != nil {
		return fmt.Errorf("audit: query key: %w", err)
	}
	if l.queries, err = NewQueryHasher(raw); err != nil {
		return err
	}
	return nil
}

func (l *Log) newKeys(origin string) (string, error) {
	skey, vkey, err := note.GenerateKey(l.opts.Rand, origin)
	if err != nil {
		return "", err
	}
	q := make([]byte, 32)
	if _, err := io.ReadFull(l.opts.Rand, q); err != nil {
		return "", err
	}
	tmp := filepath.Join(l.dir, tmpDir)
	// The verifier and query keys first: a signer key on disk means the
	// set is complete.
	if err := writeFileAtomic(tmp, filepath.Join(l.dir, verifierFile), []byte(vkey+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := writeFileAtomic(tmp, filepath.Join(l.dir, queryKeyFile), []byte(hex.EncodeToString(q)+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := writeFileAtomic(tmp, filepath.Join(l.dir, signerFile), []byte(skey+"\n"), 0o600); err != nil {
		return "", err
	}
	return skey, nil
}

// loadCheckpoint reads the newest checkpoint. One that does not verify is
// damage, not something to skip.
func (l *Log) loadCheckpoint() error {
	names, _, err := listNames(filepath.Join(l.dir, checkpointsDir))
	if err != nil || len(names) == 0 {
		return err
	}
	name := names[len(names)-1]
	msg, err := os.ReadFile(filepath.Join(l.dir, checkpointsDir, name))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	cp, err := OpenCheckpoint(msg, l.verifier)
	if err != nil {
		return fmt.Errorf("audit: %w: checkpoint %s: %w", ErrCorrupt, name, err)
	}
	if n, _ := parseSeqName(name); n != cp.Size {
		return fmt.Errorf("audit: %w: checkpoint file %s holds size %d", ErrCorrupt, name, cp.Size)
	}
	l.cp = cp
	return nil
}

// scan reads every segment, checks it and fills the index and the tree
// hashes. A damaged record at the tail of the last segment is cut; it
// returns a description of the cut, or "".
func (l *Log) scan(names []string) (torn string, err error) {
	var leaves []tlog.Hash
	have := l.hashes.leaves
	flush := func() error {
		err := l.hashes.add(leaves)
		leaves = leaves[:0]
		return err
	}
	for i, name := range names {
		last := i == len(names)-1
		path := filepath.Join(l.dir, segmentsDir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("audit: %w", err)
		}
		first, herr := parseHeader(data)
		if herr != nil {
			if last && (errors.Is(herr, errShort) || len(data) < segHeaderLen) {
				// A crash while a segment was being started: it holds no event.
				if err := os.Remove(path); err != nil {
					return "", fmt.Errorf("audit: %w", err)
				}
				if err := syncDir(filepath.Dir(path)); err != nil {
					return "", fmt.Errorf("audit: %w", err)
				}
				l.log.Warn("audit: removed a segment whose header was never completed", "segment", name)
				break
			}
			return "", fmt.Errorf("audit: %w: segment %s: %w", ErrCorrupt, name, herr)
		}
		if n, _ := parseSeqName(name); n != first || first != l.size {
			return "", fmt.Errorf("audit: %w: segment %s starts at event %d, expected %d", ErrCorrupt, name, first, l.size)
		}
		l.segs = append(l.segs, segmentInfo{first: first, name: name})
		off := segHeaderLen
		for off < len(data) {
			payload, n, ferr := parseFrame(data[off:])
			var en Entry
			if ferr == nil {
				if derr := en.UnmarshalBinary(payload); derr != nil {
					return "", fmt.Errorf("audit: %w: segment %s offset %d: %w", ErrCorrupt, name, off, derr)
				}
			}
			if ferr != nil {
				if !last {
					return "", fmt.Errorf("audit: %w: segment %s offset %d: %w", ErrCorrupt, name, off, ferr)
				}
				if torn, err = l.cutTail(path, name, data, off); err != nil {
					return "", err
				}
				break
			}
			if en.Seq != l.size || en.Prev != l.lastHash {
				return "", fmt.Errorf("audit: %w: segment %s offset %d: event %d does not follow event %d", ErrCorrupt, name, off, en.Seq, l.size)
			}
			leaf := tlog.RecordHash(payload)
			if int64(l.size) >= have {
				leaves = append(leaves, leaf)
				if len(leaves) == 4096 {
					if err := flush(); err != nil {
						return "", fmt.Errorf("audit: %w", err)
					}
				}
			}
			l.idx.add(&en.Event, uint32(off))
			l.size++
			l.lastHash = leaf
			l.lastTime = en.Time.UnixNano()
			off += n
		}
	}
	if err := flush(); err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	return torn, nil
}

// cutTail keeps the bytes of a torn tail under torn/ and truncates the
// segment before them.
func (l *Log) cutTail(path, name string, data []byte, off int) (string, error) {
	if l.size < l.cp.Size {
		return "", fmt.Errorf("audit: %w: segment %s is damaged at offset %d, under signed checkpoint %d", ErrCorrupt, name, off, l.cp.Size)
	}
	keep := filepath.Join(l.dir, tornDir, fmt.Sprintf("%s-%d", name, off))
	if err := writeFileAtomic(filepath.Join(l.dir, tmpDir), keep, data[off:], 0o600); err != nil {
		return "", fmt.Errorf("audit: keeping torn tail: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	err = f.Truncate(int64(off))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("audit: cutting torn tail: %w", err)
	}
	cut := len(data) - off
	l.log.Warn("audit: cut a torn tail after a crash", "segment", name, "offset", off, "bytes", cut, "kept", keep)
	return fmt.Sprintf("segment=%s offset=%d bytes=%d", name, off, cut), nil
}

// openActive opens the last segment for appending, or starts the first.
func (l *Log) openActive() error {
	if len(l.segs) == 0 {
		return l.startSegment(0)
	}
	last := l.segs[len(l.segs)-1]
	path := filepath.Join(l.dir, segmentsDir, last.name)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	f, err := l.opts.openSegment(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	l.seg = &segment{f: f, first: last.first, count: l.size - last.first, size: fi.Size(), created: l.opts.Clock()}
	return nil
}

// startSegment creates the segment that starts at event first and makes it
// the active one. Its header and folder entry are durable before any event
// is written to it.
func (l *Log) startSegment(first uint64) error {
	name := seqName(first)
	path := filepath.Join(l.dir, segmentsDir, name)
	f, err := l.opts.openSegment(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("audit: starting segment: %w", err)
	}
	hdr := appendHeader(nil, first)
	_, err = f.Write(hdr)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: starting segment: %w", err)
	}
	if l.seg != nil {
		l.seg.f.Close()
	}
	l.seg = &segment{f: f, first: first, size: int64(len(hdr)), created: l.opts.Clock()}
	l.segsMu.Lock()
	l.segs = append(l.segs, segmentInfo{first: first, name: name})
	l.segsMu.Unlock()
	return nil
}

// Append records an event and returns its sequence number once the event is
// durable. With an error the event is not recorded (the caller must refuse
// the action). Concurrent appends share fsyncs (group commit). A context
// cancelled before the call refuses it; once queued, an event is committed
// or fails with its batch.
func (l *Log) Append(ctx context.Context, e Event) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !e.Time.IsZero() && (e.Time.Year() < 1900 || e.Time.Year() > 2200) {
		return 0, fmt.Errorf("%w: time %s", ErrInvalidEvent, e.Time)
	}
	if err := e.validate(); err != nil {
		return 0, err
	}
	e.Roles = slices.Clone(e.Roles)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	if l.closed {
		return 0, ErrClosed
	}
	// The caller's time is kept unless it is ahead of the log's clock:
	// one event stamped in the future would otherwise hold every later
	// event at that time.
	t, now := e.Time, l.opts.Clock()
	if t.IsZero() || t.After(now) {
		t = now
	}
	if t.UnixNano() < l.lastTime {
		t = time.Unix(0, l.lastTime)
	}
	e.Time = t.UTC()
	seq := l.size
	en := Entry{Seq: seq, Prev: l.lastHash, Event: e}
	b := l.pend
	start := len(b.buf)
	b.buf = binary.BigEndian.AppendUint32(b.buf, 0)
	b.buf = en.appendEncoding(b.buf)
	payload := b.buf[start+4:]
	binary.BigEndian.PutUint32(b.buf[start:], uint32(len(payload)))
	b.buf = binary.BigEndian.AppendUint32(b.buf, crc32.Checksum(b.buf[start:], castagnoli))
	leaf := tlog.RecordHash(payload)
	b.leaves = append(b.leaves, leaf)
	b.events = append(b.events, e)
	b.offs = append(b.offs, uint32(start))
	l.size++
	l.lastHash = leaf
	l.lastTime = e.Time.UnixNano()

	for l.durable <= seq {
		if l.err != nil {
			return 0, l.err
		}
		if l.writing {
			l.cond.Wait()
			continue
		}
		// Lead a group commit of everything queued so far.
		l.writing = true
		b := l.pend
		l.pend, l.spare = l.spare, nil
		l.mu.Unlock()
		err := l.commit(b)
		l.mu.Lock()
		if err != nil {
			l.failLocked(err)
		} else {
			if l.durable == l.cp.Size {
				l.unsigned = l.opts.Clock()
			}
			l.durable += uint64(len(b.leaves))
			if l.durable-l.cp.Size >= uint64(l.opts.CheckpointEvery) {
				l.kickLoop()
			}
		}
		b.reset()
		l.spare = b
		l.writing = false
		l.cond.Broadcast()
	}
	return seq, nil
}

// commit writes a batch, fsyncs it, and only then adds it to the tree
// hashes and the index. The caller holds the write token.
func (l *Log) commit(b *batch) error {
	seg := l.seg
	if _, err := seg.f.Write(b.buf); err != nil {
		l.undo(seg)
		return fmt.Errorf("writing segment: %w", err)
	}
	if err := seg.f.Sync(); err != nil {
		// After a failed fsync the page cache cannot be trusted
		// (the kernel may have dropped the dirty pages): the log stops.
		l.undo(seg)
		return fmt.Errorf("syncing segment: %w", err)
	}
	if err := l.hashes.add(b.leaves); err != nil {
		return err
	}
	l.idx.mu.Lock()
	for i := range b.events {
		l.idx.add(&b.events[i], uint32(seg.size)+b.offs[i])
	}
	l.idx.mu.Unlock()
	seg.size += int64(len(b.buf))
	seg.count += uint64(len(b.leaves))
	if seg.size >= l.opts.SegmentBytes {
		return l.rollover(seg.first + seg.count)
	}
	return nil
}

// undo tries to cut what a failed write may have left, so that a record
// never acknowledged is not found by the next open. Best effort: the log
// is failing anyway.
func (l *Log) undo(seg *segment) {
	if err := seg.f.Truncate(seg.size); err == nil {
		seg.f.Sync()
	}
}

func (l *Log) failLocked(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		l.log.Error("audit: the log failed and refuses appends until reopened", "err", err)
	}
}

func (l *Log) fail(err error) {
	l.mu.Lock()
	l.failLocked(err)
	l.cond.Broadcast()
	l.mu.Unlock()
}

// rollover completes the active segment at size events: a checkpoint
// covers exactly it, then the next segment starts. The caller holds the
// write token.
func (l *Log) rollover(size uint64) error {
	if _, err := l.makeCheckpoint(size); err != nil {
		return err
	}
	if err := l.startSegment(size); err != nil {
		return err
	}
	if l.copier != nil {
		l.copier.poke()
	}
	return nil
}

// makeCheckpoint signs a checkpoint of the first size events and stores it,
// unless one as large exists.
func (l *Log) makeCheckpoint(size uint64) (Checkpoint, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.Lock()
	cur := l.cp
	l.mu.Unlock()
	if size <= cur.Size {
		return cur, nil
	}
	if err := l.hashes.sync(); err != nil {
		return Checkpoint{}, err
	}
	root, err := tlog.TreeHash(int64(size), l.hashes)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("tree hash of %d events: %w", size, err)
	}
	cp, err := signCheckpoint(l.signer, size, root)
	if err != nil {
		return Checkpoint{}, err
	}
	path := filepath.Join(l.dir, checkpointsDir, seqName(size))
	if err := writeFileAtomic(filepath.Join(l.dir, tmpDir), path, cp.Note, 0o644); err != nil {
		return Checkpoint{}, fmt.Errorf("storing checkpoint %d: %w", size, err)
	}
	l.mu.Lock()
	l.cp = cp
	if l.durable > size {
		l.unsigned = l.opts.Clock()
	} else {
		l.unsigned = time.Time{}
	}
	l.mu.Unlock()
	if l.copier != nil {
		l.copier.poke()
	}
	return cp, nil
}

func (l *Log) kickLoop() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// loop makes due checkpoints and completes old segments.
func (l *Log) loop() {
	defer l.loopDone.Done()
	t := time.NewTicker(l.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.kick:
		}
		l.housekeep()
	}
}

func (l *Log) housekeep() {
	now := l.opts.Clock()
	l.mu.Lock()
	durable, cp, unsigned, failed := l.durable, l.cp.Size, l.unsigned, l.err != nil || l.closed
	l.mu.Unlock()
	if failed {
		return
	}
	if durable > cp && (durable-cp >= uint64(l.opts.CheckpointEvery) || now.Sub(unsigned) >= l.opts.CheckpointInterval) {
		if _, err := l.makeCheckpoint(durable); err != nil {
			l.fail(fmt.Errorf("checkpoint: %w", err))
			return
		}
	}
	if !l.acquire() {
		return
	}
	var err error
	if l.seg.count > 0 && now.Sub(l.seg.created) >= l.opts.SegmentAge {
		err = l.rollover(l.seg.first + l.seg.count)
	}
	l.release(err)
}

// acquire takes the write token, waiting for a commit in progress; false
// if the log has failed or closed.
func (l *Log) acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.writing {
		l.cond.Wait()
	}
	if l.err != nil {
		return false
	}
	l.writing = true
	return true
}

func (l *Log) release(err error) {
	l.mu.Lock()
	if err != nil {
		l.failLocked(err)
	}
	l.writing = false
	l.cond.Broadcast()
	l.mu.Unlock()
}

// Close stops appends, signs a checkpoint of every event, completes the
// active segment and copies what is not yet in the store, for as long as
// ctx allows (what is left is copied after the next Open).
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.loopDone.Wait()

	var errs []error
	l.mu.Lock()
	for l.writing || (l.durable < l.size && l.err == nil) {
		l.cond.Wait()
	}
	failed := l.err
	l.writing = true
	l.mu.Unlock()
	if failed == nil {
		if l.seg.count > 0 {
			errs = append(errs, l.rollover(l.seg.first+l.seg.count))
		} else if _, err := l.makeCheckpoint(l.durable); err != nil {
			errs = append(errs, err)
		}
	}
	if l.copier != nil {
		if err := l.copier.pass(ctx); err != nil {
			l.log.Warn("audit: copies left for the next start", "err", err)
		}
	}
	errs = append(errs, l.seg.f.Close(), l.hashes.close(), l.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("audit: closing: %w", err)
	}
	return nil
}

// shutdown releases everything after a failed open.
func (l *Log) shutdown() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.loopDone.Wait()
	l.seg.f.Close()
	l.hashes.close()
	l.lock.Close()
}

// Verifier returns the public key that verifies this log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// VerifierKey returns the public key in the text form that Verify and
// NewVerifier read (as stored in verifier.key).
func (l *Log) VerifierKey() string { return l.vkey }

// QueryHasher returns the hasher for Event.QueryHash, keyed with this
// log's query key.
func (l *Log) QueryHasher() *QueryHasher { return l.queries }

// Status describes the log for health checks and tests.
type Status struct {
	// Size is the number of durable events.
	Size uint64
	// Checkpoint is the size of the newest checkpoint.
	Checkpoint uint64
	// Segments is the number of segments, the active one included.
	Segments int
	// Copied is the number of events whose segment is in the store.
	Copied uint64
	// CopyError is the last copy failure, "" after a success.
	CopyError string
	// Failed is the error that stopped appends, if any.
	Failed error
}

// Status returns the log's current state.
func (l *Log) Status() Status {
	l.mu.Lock()
	s := Status{Size: l.durable, Checkpoint: l.cp.Size, Failed: l.err}
	l.mu.Unlock()
	l.segsMu.RLock()
	s.Segments = len(l.segs)
	l.segsMu.RUnlock()
	if l.copier != nil {
		s.Copied, s.CopyError = l.copier.status()
	}
	return s
}

// Checkpoint returns a checkpoint that covers every durable event, signing
// a new one if the newest does not.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, err
	}
	l.mu.Lock()
	durable, err := l.durable, l.err
	l.mu.Unlock()
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := l.makeCheckpoint(durable)
	if err != nil {
		l.fail(fmt.Errorf("checkpoint: %w", err))
		return Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	return cp, nil
}

// CheckpointAt returns the stored checkpoint of the given size.
func (l *Log) CheckpointAt(ctx context.Context, size uint64) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, err
	}
	msg, err := os.ReadFile(filepath.Join(l.dir, checkpointsDir, seqName(size)))
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint %d: %w", size, ErrNotFound)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	return OpenCheckpoint(msg, l.verifier)
}

// Checkpoints lists the sizes of the stored checkpoints, oldest first.
func (l *Log) Checkpoints(ctx context.Context) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, _, err := listNames(filepath.Join(l.dir, checkpointsDir))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	sizes := make([]uint64, len(names))
	for i, n := range names {
		sizes[i], _ = parseSeqName(n)
	}
	return sizes, nil
}

// Query returns a page of the events that match q, newest first.
func (l *Log) Query(ctx context.Context, q Query) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	seqs, offs, more := l.idx.search(&q, limit)
	entries, err := l.read(seqs, offs)
	if err != nil {
		return Page{}, err
	}
	p := Page{Entries: entries}
	if more {
		p.Next = seqs[len(seqs)-1]
	}
	return p, nil
}

// Entry returns the event with the given sequence number.
func (l *Log) Entry(ctx context.Context, seq uint64) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	l.idx.mu.RLock()
	if seq >= uint64(len(l.idx.offset)) {
		l.idx.mu.RUnlock()
		return Entry{}, fmt.Errorf("audit: event %d: %w", seq, ErrNotFound)
	}
	off := l.idx.offset[seq]
	l.idx.mu.RUnlock()
	es, err := l.read([]uint64{seq}, []uint32{off})
	if err != nil {
		return Entry{}, err
	}
	return es[0], nil
}

// read reads entries from their segments. Only durable events are in the
// index, so the bytes read are never being written.
func (l *Log) read(seqs []uint64, offs []uint32) ([]Entry, error) {
	out := make([]Entry, len(seqs))
	var (
		f    *os.File
		cur  = -1
		head [4]byte
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	l.segsMu.RLock()
	segs := l.segs
	l.segsMu.RUnlock()
	for i, seq := range seqs {
		s := sort.Search(len(segs), func(j int) bool { return segs[j].first > seq }) - 1
		if s < 0 {
			return nil, fmt.Errorf("audit: %w: no segment holds event %d", ErrCorrupt, seq)
		}
		if s != cur {
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = os.Open(filepath.Join(l.dir, segmentsDir, segs[s].name)); err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			cur = s
		}
		if _, err := f.ReadAt(head[:], int64(offs[i])); err != nil {
			return nil, fmt.Errorf("audit: reading event %d: %w", seq, err)
		}
		n := binary.BigEndian.Uint32(head[:])
		if n > maxPayload {
			return nil, fmt.Errorf("audit: %w: event %d: %w", ErrCorrupt, seq, errLength)
		}
		frame := make([]byte, frameOverhead+int(n))
		if _, err := f.ReadAt(frame, int64(offs[i])); err != nil {
			return nil, fmt.Errorf("audit: reading event %d: %w", seq, err)
		}
		payload, _, err := parseFrame(frame)
		if err == nil {
			err = out[i].UnmarshalBinary(payload)
		}
		if err == nil && out[i].Seq != seq {
			err = fmt.Errorf("holds event %d", out[i].Seq)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: %w: event %d: %w", ErrCorrupt, seq, err)
		}
	}
	return out, nil
}

// InclusionProof proves that event seq is in the tree of the first size
// events (a checkpoint's size). Check it with CheckInclusion.
func (l *Log) InclusionProof(ctx context.Context, seq, size uint64) (tlog.RecordProof, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	if seq >= size {
		return nil, fmt.Errorf("audit: event %d is not in a tree of %d: %w", seq, size, ErrNotFound)
	}
	p, err := tlog.ProveRecord(int64(size), int64(seq), l.hashes)
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	return p, nil
}

// ConsistencyProof proves that the tree of the first older events is a
// prefix of the tree of the first newer events. Check it with
// CheckConsistency.
func (l *Log) ConsistencyProof(ctx context.Context, older, newer uint64) (tlog.TreeProof, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.checkSize(newer); err != nil {
		return nil, err
	}
	if older == 0 || older > newer {
		return nil, fmt.Errorf("audit: no consistency proof from %d to %d: %w", older, newer, ErrNotFound)
	}
	p, err := tlog.ProveTree(int64(newer), int64(older), l.hashes)
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof: %w", err)
	}
	return p, nil
}

func (l *Log) checkSize(size uint64) error {
	l.mu.Lock()
	durable := l.durable
	l.mu.Unlock()
	if size == 0 || size > durable {
		return fmt.Errorf("audit: no tree of %d events (the log has %d): %w", size, durable, ErrNotFound)
	}
	return nil
}

// CheckInclusion checks an inclusion proof of en against cp, which must come
// from OpenCheckpoint (so its signature is verified).
func CheckInclusion(cp Checkpoint, en Entry, proof tlog.RecordProof) error {
	h, err := en.Hash()
	if err != nil {
		return err
	}
	if en.Seq >= cp.Size {
		return fmt.Errorf("audit: event %d is not covered by checkpoint %d", en.Seq, cp.Size)
	}
	if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(en.Seq), h); err != nil {
		return fmt.Errorf("audit: inclusion of event %d in checkpoint %d: %w", en.Seq, cp.Size, err)
	}
	return nil
}

// CheckConsistency checks that newer extends older, both from
// OpenCheckpoint.
func CheckConsistency(older, newer Checkpoint, proof tlog.TreeProof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("audit: checkpoints of two logs (%q, %q)", older.Origin, newer.Origin)
	}
	if older.Size == newer.Size {
		if older.Root != newer.Root {
			return fmt.Errorf("audit: two checkpoints of size %d with different roots", older.Size)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, int64(newer.Size), newer.Root, int64(older.Size), older.Root); err != nil {
		return fmt.Errorf("audit: checkpoint %d does not extend checkpoint %d: %w", newer.Size, older.Size, err)
	}
	return nil
}
