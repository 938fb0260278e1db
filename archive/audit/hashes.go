package audit

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore keeps the tlog stored hashes (every leaf hash and every complete
// subtree hash, in tlog.StoredHashIndex order) in a file, so that proofs and
// checkpoints need no memory proportional to the log. The file is a cache:
// it is rebuilt from the segments when it does not match the last signed
// checkpoint. New hashes collect in memory during a commit and reach the
// file in one write.
type hashStore struct {
	mu     sync.RWMutex
	f      *os.File
	n      int64       // hashes in the file
	tail   []tlog.Hash // hashes n, n+1, ... not yet written
	leaves int64       // leaves covered by n + len(tail)
}

func openHashStore(path string) (*hashStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening tree hashes: %w", err)
	}
	return &hashStore{f: f}, nil
}

// reset makes the store hold the hashes of the first leaves, keeping what
// the file has if it holds at least that many and rebuilding from zero when
// keep is false.
func (s *hashStore) reset(leaves int64, keep bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := int64(0)
	if keep {
		want = tlog.StoredHashCount(leaves)
		fi, err := s.f.Stat()
		if err != nil {
			return fmt.Errorf("tree hashes: %w", err)
		}
		if fi.Size() < want*tlog.HashSize {
			want, leaves = 0, 0
		}
	} else {
		leaves = 0
	}
	if err := s.f.Truncate(want * tlog.HashSize); err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	s.n, s.tail, s.leaves = want, s.tail[:0], leaves
	return nil
}

// ReadHashes implements tlog.HashReader.
func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.read(indexes)
}

func (s *hashStore) read(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		switch {
		case x >= s.n && x < s.n+int64(len(s.tail)):
			out[i] = s.tail[x-s.n]
		case x >= 0 && x < s.n:
			if _, err := s.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("reading tree hash %d: %w", x, err)
			}
		default:
			return nil, fmt.Errorf("tree hash %d not stored", x)
		}
	}
	return out, nil
}

// add appends the stored hashes of the next leaves, given their leaf
// hashes, and writes them to the file (without fsync: flush does that).
func (s *hashStore) add(leafHashes []tlog.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := tlog.HashReaderFunc(s.read)
	for _, h := range leafHashes {
		hs, err := tlog.StoredHashesForRecordHash(s.leaves, h, r)
		if err != nil {
			return fmt.Errorf("tree hashes of leaf %d: %w", s.leaves, err)
		}
		s.tail = append(s.tail, hs...)
		s.leaves++
	}
	buf := make([]byte, 0, len(s.tail)*tlog.HashSize)
	for _, h := range s.tail {
		buf = append(buf, h[:]...)
	}
	if _, err := s.f.WriteAt(buf, s.n*tlog.HashSize); err != nil {
		return fmt.Errorf("writing tree hashes: %w", err)
	}
	s.n += int64(len(s.tail))
	s.tail = s.tail[:0]
	return nil
}

// sync makes the file durable, so a checkpoint signed after it can vouch
// for it at the next open.
func (s *hashStore) sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("syncing tree hashes: %w", err)
	}
	return nil
}

func (s *hashStore) close() error { return s.f.Close() }
