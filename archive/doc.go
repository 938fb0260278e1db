// Package archive is Khomat's domain: what a document is (Document and its
// Metadata), how its metadata is checked (Validate, with errors that name
// the field), and the archive service that stores, opens, versions and
// reclassifies documents through the crypto and store packages.
//
// Who may do what is decided by package access; this package describes the
// documents those decisions are about.
package archive
