package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"khomat/archive/store"
)

// Keys in the object store (docs/FORMAT.md): the same names as in the
// local folder, under audit/<node>/.
func bucketPrefix(node string) string { return "audit/" + node + "/" }

// copier copies completed segments, then the checkpoints they cover, to the
// object store, in the background: a failed copy is retried with backoff
// and never holds up an append. It learns what the bucket already holds
// from one listing, so no local state needs to survive a crash.
type copier struct {
	l      *Log
	st     store.Store
	prefix string
	wake   chan struct{}

	run1        sync.Mutex // one pass at a time; guards the fields below
	listed      bool
	have        map[string]int64 // keys in the store, with their sizes (-1: checked)
	noRetention bool

	mu      sync.Mutex // guards the status, which never waits for a copy
	copied  uint64     // events in segments known to be in the store
	lastErr string
}

func newCopier(l *Log) *copier {
	return &copier{l: l, st: l.opts.Store, prefix: bucketPrefix(l.opts.Node),
		wake: make(chan struct{}, 1), have: map[string]int64{}}
}

func (c *copier) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *copier) status() (uint64, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copied, c.lastErr
}

// run copies whenever poked, and retries failures with a doubling delay.
func (c *copier) run(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	delay := c.l.opts.CopyRetry
	c.poke()
	for {
		var retry <-chan time.Time
		var t *time.Timer
		if c.pass(ctx) != nil {
			t = time.NewTimer(delay)
			retry = t.C
			delay = min(2*delay, 64*c.l.opts.CopyRetry)
		} else {
			delay = c.l.opts.CopyRetry
		}
		select {
		case <-stop:
		case <-c.wake:
		case <-retry:
		}
		if t != nil {
			t.Stop()
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}

// pass copies everything not yet in the store.
func (c *copier) pass(ctx context.Context) error {
	c.run1.Lock()
	defer c.run1.Unlock()
	err := c.copyAll(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.lastErr = err.Error()
		if ctx.Err() == nil {
			c.l.log.Warn("audit: copy to the object store failed; will retry", "err", err)
		}
	} else {
		c.lastErr = ""
	}
	return err
}

func (c *copier) copyAll(ctx context.Context) error {
	if !c.listed {
		for info, err := range c.st.List(ctx, c.prefix, "") {
			if err != nil {
				return fmt.Errorf("listing %s: %w", c.prefix, err)
			}
			c.have[info.Key] = info.Size
		}
		c.listed = true
	}
	c.l.segsMu.RLock()
	segs := c.l.segs
	c.l.segsMu.RUnlock()
	// Every segment but the active (last) one is complete; copy them in
	// order, so the bucket always holds a prefix of the log.
	var end uint64
	for i := 0; i+1 < len(segs); i++ {
		key := c.prefix + segmentsDir + "/" + segs[i].name
		if err := c.ensure(ctx, key, filepath.Join(c.l.dir, segmentsDir, segs[i].name)); err != nil {
			return err
		}
		end = segs[i+1].first
		c.mu.Lock()
		c.copied = end
		c.mu.Unlock()
	}
	names, _, err := listNames(filepath.Join(c.l.dir, checkpointsDir))
	if err != nil {
		return err
	}
	for _, name := range names {
		size, _ := parseSeqName(name)
		key := c.prefix + checkpointsDir + "/" + name
		if size > end {
			break
		}
		if err := c.ensure(ctx, key, filepath.Join(c.l.dir, checkpointsDir, name)); err != nil {
			return err
		}
	}
	return nil
}

// ensure copies the file at path to key unless the store holds it. An
// object found by the first listing is taken as ours when its size is
// right (a copy made before a restart) and compared byte for byte when not.
func (c *copier) ensure(ctx context.Context, key, path string) error {
	size, ok := c.have[key]
	if ok && size < 0 {
		return nil
	}
	if ok {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.Size() != size {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := c.same(ctx, key, data); err != nil {
				return err
			}
		}
	} else if err := c.put(ctx, key, path); err != nil {
		return err
	}
	c.have[key] = -1
	return nil
}

// put creates key from the file at path, under retention where offered. An
// object already there (a copy made before a crash) is accepted if it holds
// the same bytes.
func (c *copier) put(ctx context.Context, key, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	opts := store.PutOptions{IfAbsent: true, ContentType: "application/octet-stream"}
	if c.l.opts.RetainFor > 0 && !c.noRetention {
		opts.Retention = &store.Retention{Mode: c.l.opts.RetentionMode, Until: c.l.opts.Clock().Add(c.l.opts.RetainFor)}
	}
	_, err = c.st.Put(ctx, key, bytes.NewReader(data), opts)
	if errors.Is(err, store.ErrUnsupported) && opts.Retention != nil {
		c.noRetention = true
		c.l.log.Info("audit: the object store offers no retention lock; copies are not locked", "key", key)
		opts.Retention = nil
		_, err = c.st.Put(ctx, key, bytes.NewReader(data), opts)
	}
	if errors.Is(err, store.ErrExist) {
		return c.same(ctx, key, data)
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", key, err)
	}
	return nil
}

func (c *copier) same(ctx context.Context, key string, data []byte) error {
	r, _, err := c.st.Get(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", key, err)
	}
	defer r.Close()
	got, err := io.ReadAll(io.LimitReader(r, int64(len(data))+1))
	if err != nil {
		return fmt.Errorf("reading back %s: %w", key, err)
	}
	if !bytes.Equal(got, data) {
		// Two nodes with one name, or tampering: never overwrite.
		return fmt.Errorf("%w: the store holds a different %s", ErrCorrupt, strings.TrimPrefix(key, c.prefix))
	}
	return nil
}
