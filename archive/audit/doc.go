// Package audit is Khomat's tamper-evident audit log.
//
// Every request that touches a document, a user, a key or the log itself
// appends an Event. Append returns only once the event is on disk (fsync,
// committed in groups so that many concurrent writers share one fsync); when
// the log cannot be written it returns an error and the caller refuses the
// action, so nothing is done unlogged.
//
// The events are the leaves of a Merkle tree (RFC 6962 hashing, built with
// golang.org/x/mod/sumdb/tlog). The log signs a checkpoint of the tree (C2SP
// tlog-checkpoint text, Ed25519 through golang.org/x/mod/sumdb/note) every
// few events or seconds, at every segment boundary and on Close. Completed
// segments and checkpoints are copied to the object store under audit/, with
// an object-lock retention where the store offers one.
//
// Auditors query the log (newest first, paginated), export it as JSON Lines
// or CSV with the checkpoint that covers the export, and ask for inclusion
// and consistency proofs. Verify re-reads a log from its folder or from the
// bucket with only the public key and reports exactly what was altered,
// removed, reordered, truncated or appended.
//
// Events carry no titles, summaries, query text or content: a Tuyệt mật
// title in a log read by a Mật-cleared auditor would itself be a leak. Search
// queries are recorded by a keyed hash (QueryHasher).
//
// The byte formats are specified in docs/FORMAT.md, section "Audit log".
package audit
