package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/identity"
	"khomat/archive/store"
	"khomat/crypto"
)

// systemSubject is the actor of offline operations run by the operator on
// the node itself; its events name it "system".
func systemSubject() access.Subject {
	return access.Subject{ID: audit.SystemActor, Roles: []access.Role{access.Admin}, Clearance: access.TopSecret}
}

// keysRotate adds a new key version for a level, makes it active, and
// rewraps every document of the level onto it. The server must be stopped:
// it holds the keyring in memory and the audit log's lock.
func (c *cli) keysRotate(ctx context.Context, args []string) int {
	var sc storeConfig
	var levelName string
	fs := c.flags("keys rotate", "keys rotate --level LEVEL [flags]\n\nRotates a level's key-encryption key and rewraps the level's documents onto it.\nStop the server first.")
	c.addStoreFlags(fs, &sc)
	fs.StringVar(&levelName, "level", "", "level to rotate: unclassified, confidential (mật), secret (tối mật), top_secret (tuyệt mật)")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	c.finish(&sc)
	level, err := access.ParseLevel(levelName)
	if err != nil || fs.NArg() > 0 {
		c.errorf("keys rotate: give --level, one of unclassified, confidential, secret, top_secret")
		return exitUsage
	}
	if _, err := os.Stat(keyringPath(&sc)); err != nil {
		c.errorf("no keyring in %s: %v", sc.data, err)
		return exitFailure
	}
	n, err := c.openNode(ctx, &sc, false, nil, nil)
	if err != nil {
		c.errorf("%v (is the server still running?)", err)
		return exitFailure
	}
	defer n.close(ctx)
	ver, err := n.keys.Rotate(crypto.Level(level), time.Now())
	if err != nil {
		c.errorf("rotating: %v", err)
		return exitFailure
	}
	mk, err := c.masterKey(&sc, false)
	if err != nil {
		c.errorf("%v", err)
		return exitFailure
	}
	defer mk.Destroy()
	sys := systemSubject()
	ev := audit.Event{Actor: sys.ID, Roles: sys.Roles, Clearance: sys.Clearance,
		Action: audit.ActionKeyRotate, Level: level, Outcome: audit.Allowed, Reason: string(access.ReasonOK),
		Detail: fmt.Sprintf("kek=%s/%d", level, ver)}
	if _, err := n.audit.Append(ctx, ev); err != nil {
		c.errorf("recording the rotation: %v; nothing changed", err)
		return exitFailure
	}
	if err := n.keys.WriteFile(keyringPath(&sc), mk); err != nil {
		c.errorf("writing the keyring: %v", err)
		return exitFailure
	}
	fmt.Fprintf(c.stdout, "khomat: %s key version %d is active; back up %s\n", level, ver, keyringPath(&sc))
	stats, err := n.archive.Rewrap(ctx, archive.Actor{Subject: sys}, level)
	if err != nil {
		c.errorf("rewrapping documents: %v (run the command again to finish)", err)
		return exitFailure
	}
	fmt.Fprintf(c.stdout, "khomat: %d of %d %s documents moved to the new key\n", stats.Rewrapped, stats.Documents, level)
	if level == access.TopSecret {
		// The account directory's system key is wrapped under the
		// Tuyệt mật KEK: move it too, or retiring the old version would
		// lock every account out.
		ids, err := identity.Open(ctx, identity.Config{Store: n.store, Keys: n.keys, Audit: n.audit})
		if err != nil {
			c.errorf("opening the account directory: %v", err)
			return exitFailure
		}
		defer ids.Close()
		if err := ids.RewrapKey(ctx); err != nil {
			c.errorf("rewrapping the account system key: %v (run the command again)", err)
			return exitFailure
		}
		fmt.Fprintln(c.stdout, "khomat: the account system key moved to the new key")
	}
	return exitOK
}

// auditVerify checks the audit log offline: the node's folder, or with
// --bucket its copy in the store, against the public verifier key.
func (c *cli) auditVerify(ctx context.Context, args []string) int {
	var sc storeConfig
	var keyFile string
	var bucket bool
	fs := c.flags("audit verify", "audit verify [flags]\n\nVerifies the audit log: every event, link and signed checkpoint. Exit code 3 when it does not verify.")
	c.addStoreFlags(fs, &sc)
	fs.StringVar(&keyFile, "verifier-key", "", "the log's public key (default <data>/audit/verifier.key)")
	fs.BoolVar(&bucket, "bucket", false, "verify the copy in the store (folder store or S3) instead of the local folder")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	c.finish(&sc)
	if fs.NArg() > 0 {
		c.errorf("audit verify takes no arguments")
		return exitUsage
	}
	dir := filepath.Join(sc.data, "audit")
	if keyFile == "" {
		keyFile = filepath.Join(dir, "verifier.key")
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		c.errorf("reading the verifier key: %v", err)
		return exitFailure
	}
	v, err := audit.NewVerifier(strings.TrimSpace(string(raw)))
	if err != nil {
		c.errorf("verifier key %s: %v", keyFile, err)
		return exitFailure
	}
	var src audit.Source = audit.Folder{Dir: dir}
	where := dir
	if bucket {
		st, closeStore, err := openStoreReadOnly(ctx, &sc)
		if err != nil {
			c.errorf("opening the store: %v", err)
			return exitFailure
		}
		defer closeStore()
		src, where = audit.Bucket{Store: st, Node: sc.node}, "the store's copy of node "+sc.node
	}
	rep, err := audit.Verify(ctx, src, v)
	if err != nil {
		c.errorf("verifying %s: %v", where, err)
		return exitFailure
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(c.stdout, p.String())
	}
	if !rep.OK() {
		fmt.Fprintf(c.stdout, "khomat: the audit log in %s does NOT verify: %d problems\n", where, len(rep.Problems))
		return exitVerify
	}
	fmt.Fprintf(c.stdout, "khomat: the audit log in %s verifies: %s\n", where, reportSummary(rep))
	return exitOK
}

// openStoreReadOnly opens the store for reading a copy; the folder store
// takes its lock, so a running server's folder must be verified locally.
func openStoreReadOnly(ctx context.Context, sc *storeConfig) (store.Store, func() error, error) {
	st, closeFn, err := openStore(ctx, sc)
	if err != nil && !sc.s3Enabled {
		return nil, nil, errors.Join(err, errors.New("the folder store is locked by a running server; verify the local folder instead"))
	}
	return st, closeFn, err
}

// reindex rebuilds the search indexes from the store.
func (c *cli) reindex(ctx context.Context, args []string) int {
	var sc storeConfig
	var ic indexConfig
	fs := c.flags("reindex", "reindex [flags]\n\nRebuilds the search indexes under <data>/index from the store, the source of truth. Stop the server first.")
	c.addStoreFlags(fs, &sc)
	c.addIndexFlags(fs, &ic)
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	c.finish(&sc)
	if fs.NArg() > 0 {
		c.errorf("reindex takes no arguments")
		return exitUsage
	}
	return c.rebuildIndex(ctx, &sc, &ic)
}

// reportSummary says what a clean verification covered.
func reportSummary(r audit.Report) string {
	return fmt.Sprintf("%d events in %d segments, %d signed checkpoints, root %x at size %d", r.Events, r.Segments, r.Checkpoints, r.Root[:8], r.Size)
}
