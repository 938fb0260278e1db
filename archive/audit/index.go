package audit

import (
	"slices"
	"sort"
	"sync"
	"time"

	"khomat/archive/access"
)

// index answers auditors' queries. It is held in memory and rebuilt from
// the segments when the log opens (docs/OPERATIONS.md says why this and not
// Bleve): one row of small columns per event, indexed by sequence number,
// and a posting list of sequence numbers per actor and per object, the two
// filters that select few events out of many. Times are non-decreasing in
// sequence order, so a time range is found by binary search; the
// low-cardinality filters (action, outcome, level) are checked on the
// columns while walking newest first.
type index struct {
	mu      sync.RWMutex
	times   []int64 // unix nanoseconds
	actor   []uint32
	object  []uint32
	action  []uint32
	query   []uint32
	outcome []uint8
	level   []uint8
	offset  []uint32 // the record's offset in its segment

	strs []string          // interned strings; 0 is ""
	ids  map[string]uint32 // inverse of strs

	byActor  map[uint32][]uint64
	byObject map[uint32][]uint64
}

func newIndex() *index {
	return &index{
		strs:     []string{""},
		ids:      map[string]uint32{"": 0},
		byActor:  map[uint32][]uint64{},
		byObject: map[uint32][]uint64{},
	}
}

func (x *index) intern(s string) uint32 {
	if id, ok := x.ids[s]; ok {
		return id
	}
	id := uint32(len(x.strs))
	x.strs = append(x.strs, s)
	x.ids[s] = id
	return id
}

func outcomeCode(o Outcome) uint8 {
	switch o {
	case Allowed:
		return 1
	case Denied:
		return 2
	case Failed:
		return 3
	}
	return 0
}

// add appends the row of the event with the next sequence number; the
// caller holds x.mu.
func (x *index) add(e *Event, offset uint32) {
	seq := uint64(len(x.times))
	x.times = append(x.times, e.Time.UnixNano())
	a := x.intern(e.Actor)
	o := x.intern(e.Object)
	x.actor = append(x.actor, a)
	x.object = append(x.object, o)
	x.action = append(x.action, x.intern(e.Action))
	x.query = append(x.query, x.intern(e.QueryHash))
	x.outcome = append(x.outcome, outcomeCode(e.Outcome))
	x.level = append(x.level, uint8(e.Level))
	x.offset = append(x.offset, offset)
	x.byActor[a] = append(x.byActor[a], seq)
	if o != 0 {
		x.byObject[o] = append(x.byObject[o], seq)
	}
}

func (x *index) len() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return uint64(len(x.times))
}

// Query selects events for an auditor. Zero fields do not filter. Results
// come newest first; a page ends after Limit events, and Page.Next passed
// back as Before gives the next page.
type Query struct {
	// From and To bound the event time: From ≤ Time < To.
	From, To time.Time
	// Actor and Object select one actor's or one object's events.
	Actor  string
	Object string
	// Actions, Outcomes and Levels select events whose action, outcome or
	// document level is any of those listed.
	Actions  []string
	Outcomes []Outcome
	Levels   []access.Level
	// QueryHash selects the searches that asked one query.
	QueryHash string
	// Before selects events with a sequence number below it: the Next of
	// the previous page. Zero means from the newest event.
	Before uint64
	// Limit is the page size: DefaultLimit when zero, at most MaxLimit.
	Limit int
}

// Page sizes of a Query.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Page is one page of query results.
type Page struct {
	Entries []Entry
	// Next is the Before of the next page, 0 when this page is the last.
	Next uint64
}

// search returns the sequence numbers of the matching events, newest
// first, at most limit of them, and whether more match.
func (x *index) search(q *Query, limit int) (seqs []uint64, offsets []uint32, more bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.times)
	lo, hi := 0, n
	if !q.From.IsZero() {
		from := q.From.UnixNano()
		lo = sort.Search(n, func(i int) bool { return x.times[i] >= from })
	}
	if !q.To.IsZero() {
		to := q.To.UnixNano()
		hi = sort.Search(n, func(i int) bool { return x.times[i] >= to })
	}
	if q.Before > 0 && q.Before < uint64(hi) {
		hi = int(q.Before)
	}
	if lo >= hi {
		return nil, nil, false
	}

	m := x.matcher(q)
	if m == nil {
		return nil, nil, false
	}
	var list []uint64
	useList := false
	if q.Actor != "" {
		list, useList = x.byActor[x.ids[q.Actor]], true
	}
	if q.Object != "" {
		if l := x.byObject[x.ids[q.Object]]; !useList || len(l) < len(list) {
			list, useList = l, true
		}
	}
	take := func(seq int) bool {
		if !m.match(x, seq) {
			return true
		}
		if len(seqs) == limit {
			more = true
			return false
		}
		seqs = append(seqs, uint64(seq))
		offsets = append(offsets, x.offset[seq])
		return true
	}
	if useList {
		// The posting list is sorted; walk its part inside [lo, hi).
		end, _ := slices.BinarySearch(list, uint64(hi))
		for i := end - 1; i >= 0 && list[i] >= uint64(lo); i-- {
			if !take(int(list[i])) {
				break
			}
		}
	} else {
		for seq := hi - 1; seq >= lo; seq-- {
			if !take(seq) {
				break
			}
		}
	}
	return seqs, offsets, more
}

// matcher is a query compiled against the interned strings.
type matcher struct {
	actor, object, query uint32
	actions              []uint32
	outcomes             uint8 // bit per outcome code
	levels               uint8 // bit per level
}

// matcher compiles q; nil means nothing can match (a string never seen).
func (x *index) matcher(q *Query) *matcher {
	m := &matcher{}
	lookup := func(s string) (uint32, bool) {
		id, ok := x.ids[s]
		return id, ok
	}
	var ok bool
	if q.Actor != "" {
		if m.actor, ok = lookup(q.Actor); !ok {
			return nil
		}
	}
	if q.Object != "" {
		if m.object, ok = lookup(q.Object); !ok {
			return nil
		}
	}
	if q.QueryHash != "" {
		if m.query, ok = lookup(q.QueryHash); !ok {
			return nil
		}
	}
	for _, a := range q.Actions {
		if id, ok := lookup(a); ok {
			m.actions = append(m.actions, id)
		}
	}
	if len(q.Actions) > 0 && len(m.actions) == 0 {
		return nil
	}
	for _, o := range q.Outcomes {
		m.outcomes |= 1 << outcomeCode(o)
	}
	for _, l := range q.Levels {
		if l.Valid() {
			m.levels |= 1 << l
		}
	}
	if (len(q.Outcomes) > 0 && m.outcomes&^1 == 0) || (len(q.Levels) > 0 && m.levels == 0) {
		return nil
	}
	return m
}

func (m *matcher) match(x *index, seq int) bool {
	switch {
	case m.actor != 0 && x.actor[seq] != m.actor,
		m.object != 0 && x.object[seq] != m.object,
		m.query != 0 && x.query[seq] != m.query,
		m.outcomes != 0 && m.outcomes&(1<<x.outcome[seq]) == 0,
		m.levels != 0 && m.levels&(1<<x.level[seq]) == 0:
		return false
	}
	return len(m.actions) == 0 || slices.Contains(m.actions, x.action[seq])
}
