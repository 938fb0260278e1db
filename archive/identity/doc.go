// Package identity is Khomat's account directory: users with roles, a
// clearance, compartments and an organisation unit; Argon2id password
// hashes; logins with throttling; and sessions as opaque tokens.
//
// # Storage
//
// Everything lives in the object store, so several server nodes can share
// it (docs/FORMAT.md, "Identity records"):
//
//	users/key              the system key, a data key wrapped under the Tuyệt mật KEK
//	users/<id>             a user record, sealed with the system key, bound to <id>
//	users/by-name/<hmac>   the username index: HMAC of the username → sealed <id>
//	sessions/<sha256>      a session, sealed, named by the SHA-256 of its token
//
// A bucket reader learns how many accounts and sessions there are and when
// each was written, and nothing of a username, name, role, clearance or
// password hash. The username index is created with create-if-absent, so of
// two admins creating one username exactly one succeeds; records are
// replaced with replace-if-match, so a concurrent edit is ErrConflict, never
// a lost write.
//
// # Decisions and audit
//
// Every admin operation takes the acting archive.Actor, decides with
// access.Decide (access.ManageUsers on the account, access.GrantClearance on
// a new clearance and compartments: never above the admin's own) and records
// an archive.AuditEvent before anything is written. If the event cannot be
// recorded the operation is refused (ErrAudit). The action names are those
// of khomat/archive/audit (Action… constants); events carry ids and codes,
// never a password, hash or token.
//
// # Sessions
//
// A token is 32 random bytes in base64url, returned once by Login; the
// store keeps only its SHA-256. Sessions end after an idle timeout and a
// maximum lifetime, at logout, and all at once when the user is disabled or
// their roles, clearance, compartments or password change (a per-user epoch
// recorded in every session). Authenticate caches sessions and users in
// memory and rechecks them against the store after SessionConfig.Recheck,
// so a change made on another node takes effect within that time, and one
// made on the same node at once.
package identity
