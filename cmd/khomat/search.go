package main

import "context"

// rebuildIndex rebuilds the search indexes from the store. The search
// package is not on main yet; until it is, there is nothing to rebuild.
func (c *cli) rebuildIndex(ctx context.Context, sc *storeConfig) int {
	c.errorf("reindex: this build has no search indexes yet")
	return exitFailure
}
