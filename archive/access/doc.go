// Package access holds the vocabulary of Khomat's access control — secrecy
// levels, urgency, roles, subjects, actions — and the one pure function that
// decides every request: Decide.
//
// The package uses the standard library only and imports nothing of the
// project, so the policy can be read, reviewed and tested on its own. It
// performs no I/O, keeps no state and reads no clock: everything a decision
// needs is passed in, and the same inputs always give the same Decision.
//
// The rules follow DESIGN.md "Access: who may do what":
//
//   - Default deny: an unknown action, an empty subject or an out-of-range
//     value is refused.
//   - Reading (metadata, content, a download) needs a content-reading role
//     (reader, archivist or security officer), a clearance at or above the
//     document's level, every compartment of the document, and — when the
//     document is marked "chỉ người có tên mới được bóc bì" — the subject's
//     name on its list. The conditions are conjunctive: no clearance
//     overrides the named-recipient list and being named overrides nothing.
//   - No one writes above what they may read: documents are created, and
//     levels raised, at most to the actor's own clearance.
//   - Only a security officer lowers a level or declassifies; destruction and
//     the copy of a highly classified document need two different people.
//   - Auditors read and export the audit log, not documents; administrators
//     manage accounts and keys but never grant or manage a clearance above
//     their own.
package access
