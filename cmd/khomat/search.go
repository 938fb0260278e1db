package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"khomat/archive/access"
	"khomat/search"
)

// indexConfig says where the search indexes live.
type indexConfig struct {
	memoryLevels string
}

func (c *cli) addIndexFlags(fs *flag.FlagSet, ic *indexConfig) {
	fs.StringVar(&ic.memoryLevels, "index-memory-levels", c.env("KHOMAT_INDEX_MEMORY_LEVELS", "top_secret"),
		"levels whose index is kept in memory only, never on disk, and rebuilt from the store at start (comma-separated; \"none\" for none) (env KHOMAT_INDEX_MEMORY_LEVELS)")
}

// openIndex opens the search indexes under <data>/index.
func (c *cli) openIndex(sc *storeConfig, ic *indexConfig, logger *slog.Logger) (*search.Index, error) {
	var mem []access.Level
	for _, name := range splitComma(ic.memoryLevels) {
		if strings.EqualFold(name, "none") {
			continue
		}
		l, err := access.ParseLevel(name)
		if err != nil {
			return nil, fmt.Errorf("--index-memory-levels: %w", err)
		}
		mem = append(mem, l)
	}
	return search.Open(search.Config{Dir: filepath.Join(sc.data, "index"), MemoryLevels: mem, Logger: logger})
}

// rebuildIndex rebuilds the search indexes from the store (the server
// stopped): new indexes are filled from every committed document and then
// replace the old ones.
func (c *cli) rebuildIndex(ctx context.Context, sc *storeConfig, ic *indexConfig) int {
	idx, err := c.openIndex(sc, ic, nil)
	if err != nil {
		c.errorf("opening the indexes: %v", err)
		return exitFailure
	}
	defer idx.Close()
	n, err := c.openNode(ctx, sc, false, nil, idx)
	if err != nil {
		c.errorf("%v (is the server still running?)", err)
		return exitFailure
	}
	defer n.close(ctx)
	rep, err := idx.Rebuild(ctx, n.archive.Corpus())
	if err != nil {
		c.errorf("rebuilding: %v", err)
		return exitFailure
	}
	fmt.Fprintf(c.stdout, "khomat: indexed %d of %d documents in %s (%d on metadata only, %d errors)\n",
		rep.Indexed, rep.Documents, rep.Duration.Round(1e6), rep.NotIndexed, rep.Errors)
	if rep.Errors > 0 {
		return exitFailure
	}
	return exitOK
}
