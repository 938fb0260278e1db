package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// record appends a non-document event for the request's user and fails
// closed: an error means the action must not happen.
func (s *Server) record(c *gin.Context, e audit.Event) error {
	a := s.actor(c)
	e.Actor = a.Subject.ID
	e.Roles = a.Subject.Roles
	e.Clearance = a.Subject.Clearance
	e.OrgUnit = a.Subject.OrgUnit
	e.ClientIP = a.ClientAddr
	e.Request = a.RequestID
	if _, err := s.audit.Append(c.Request.Context(), e); err != nil {
		return fmt.Errorf("%w: %w", archive.ErrAudit, err)
	}
	return nil
}

// decide checks a non-document action, records a denial, and answers 403
// when denied.
func (s *Server) decide(c *gin.Context, act access.Action, event string) bool {
	u, _ := currentUser(c)
	d := access.Decide(u.Subject(), act, access.Resource{})
	if d.Allow {
		return true
	}
	if err := s.record(c, audit.Event{Action: event, Outcome: audit.Denied, Reason: string(d.Reason)}); err != nil {
		s.failErr(c, err)
		return false
	}
	s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
	fail(c, http.StatusForbidden, CodeForbidden)
	return false
}

// searchDocuments runs a search bound to the caller's clearance. The query
// text is never logged or audited; the audit event carries its keyed hash.
func (s *Server) searchDocuments(c *gin.Context) {
	if !s.decide(c, access.List, audit.ActionSearch) {
		return
	}
	req, ok := parseSearch(c)
	if !ok {
		return
	}
	if s.search == nil {
		fail(c, http.StatusServiceUnavailable, CodeUnavailable)
		return
	}
	ev := audit.Event{Action: audit.ActionSearch, Outcome: audit.Allowed, Reason: string(access.ReasonOK),
		QueryHash: s.audit.QueryHasher().Hash(req.Query)}
	if err := s.record(c, ev); err != nil {
		s.failErr(c, err)
		return
	}
	select {
	case s.searching <- struct{}{}:
		defer func() { <-s.searching }()
	case <-c.Request.Context().Done():
		c.Abort()
		return
	}
	u, _ := currentUser(c)
	res, err := s.search.Search(c.Request.Context(), u.Subject(), req)
	if err != nil {
		s.failErr(c, err)
		return
	}
	if res.Hits == nil {
		res.Hits = []SearchHit{}
	}
	if res.Facets == nil {
		res.Facets = map[string][]FacetCount{}
	}
	c.JSON(http.StatusOK, res)
}

// Bounds of a search request.
const (
	maxQueryLen    = 1000
	defaultPage    = 20
	maxPageSize    = 100
	maxSearchPages = 500
)

func parseSearch(c *gin.Context) (SearchRequest, bool) {
	bad := func() (SearchRequest, bool) {
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return SearchRequest{}, false
	}
	req := SearchRequest{Query: c.Query("q"), Page: 1, Size: defaultPage, Sort: "auto"}
	if !utf8.ValidString(req.Query) {
		fail(c, http.StatusBadRequest, CodeInvalidUTF8)
		return SearchRequest{}, false
	}
	if utf8.RuneCountInString(req.Query) > maxQueryLen {
		return bad()
	}
	for _, v := range splitList(c.QueryArray("level")) {
		l, err := access.ParseLevel(v)
		if err != nil {
			return bad()
		}
		req.Levels = append(req.Levels, l)
	}
	for _, v := range splitList(c.QueryArray("type")) {
		t, err := archive.ParseDocType(v)
		if err != nil {
			return bad()
		}
		req.Types = append(req.Types, t)
	}
	var err error
	if req.From, err = archive.ParseDate(c.Query("from")); err != nil {
		return bad()
	}
	if req.To, err = archive.ParseDate(c.Query("to")); err != nil {
		return bad()
	}
	if v := c.Query("sort"); v != "" {
		switch v {
		case "auto", "relevance", "newest", "oldest", "date":
			req.Sort = v
		default:
			return bad()
		}
	}
	if v := c.Query("page"); v != "" {
		if req.Page, err = strconv.Atoi(v); err != nil || req.Page < 1 || req.Page > maxSearchPages {
			return bad()
		}
	}
	if v := c.Query("size"); v != "" {
		if req.Size, err = strconv.Atoi(v); err != nil || req.Size < 1 || req.Size > maxPageSize {
			return bad()
		}
	}
	return req, true
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// auditQuery reads the filters of /audit/events and /audit/export.
func auditQuery(c *gin.Context) (audit.Query, bool) {
	bad := func() (audit.Query, bool) {
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return audit.Query{}, false
	}
	q := audit.Query{Actor: c.Query("actor"), Object: c.Query("object"), QueryHash: c.Query("query_hash")}
	for _, v := range []string{q.Actor, q.Object, q.QueryHash} {
		if len(v) > audit.MaxField || !utf8.ValidString(v) {
			return bad()
		}
	}
	q.Actions = splitList(c.QueryArray("action"))
	for _, v := range splitList(c.QueryArray("outcome")) {
		o := audit.Outcome(v)
		if !o.Valid() {
			return bad()
		}
		q.Outcomes = append(q.Outcomes, o)
	}
	for _, v := range splitList(c.QueryArray("level")) {
		l, err := access.ParseLevel(v)
		if err != nil {
			return bad()
		}
		q.Levels = append(q.Levels, l)
	}
	var err error
	if q.From, err = parseTime(c.Query("from")); err != nil {
		return bad()
	}
	if q.To, err = parseTime(c.Query("to")); err != nil {
		return bad()
	}
	if v := c.Query("before"); v != "" {
		if q.Before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return bad()
		}
	}
	if v := c.Query("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > audit.MaxLimit {
			return bad()
		}
	}
	return q, true
}

// parseTime reads an RFC 3339 instant or an ISO date (midnight in UTC).
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// auditEvents answers a page of audit events, newest first. Reading the log
// is itself audited.
func (s *Server) auditEvents(c *gin.Context) {
	if !s.decide(c, access.ReadAudit, audit.ActionAuditRead) {
		return
	}
	q, ok := auditQuery(c)
	if !ok {
		return
	}
	if err := s.record(c, audit.Event{Action: audit.ActionAuditRead, Outcome: audit.Allowed, Reason: string(access.ReasonOK)}); err != nil {
		s.failErr(c, err)
		return
	}
	page, err := s.audit.Query(c.Request.Context(), q)
	if err != nil {
		s.failErr(c, err)
		return
	}
	if page.Entries == nil {
		page.Entries = []audit.Entry{}
	}
	out := gin.H{"events": page.Entries}
	if page.Next != 0 {
		out["next"] = page.Next
	}
	c.JSON(http.StatusOK, out)
}

// auditExport streams the matching events as JSON Lines or CSV; the signed
// checkpoint covering them follows in the Khomat-Checkpoint trailer
// (base64 of the note).
func (s *Server) auditExport(c *gin.Context) {
	if !s.decide(c, access.ExportAudit, audit.ActionAuditExport) {
		return
	}
	q, ok := auditQuery(c)
	if !ok {
		return
	}
	format, ctype, ext := audit.JSONLines, "application/jsonl; charset=utf-8", ".jsonl"
	switch c.DefaultQuery("format", "jsonl") {
	case "jsonl":
	case "csv":
		format, ctype, ext = audit.CSV, "text/csv; charset=utf-8", ".csv"
	default:
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return
	}
	if err := s.record(c, audit.Event{Action: audit.ActionAuditExport, Outcome: audit.Allowed, Reason: string(access.ReasonOK), Detail: "format=" + string(format)}); err != nil {
		s.failErr(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="khomat-audit`+ext+`"`)
	h.Set("Trailer", "Khomat-Checkpoint")
	c.Status(http.StatusOK)
	cp, err := s.audit.Export(c.Request.Context(), c.Writer, q, format)
	if err != nil {
		s.log.Error("audit export failed", "request_id", requestID(c), "err", err)
		panic(http.ErrAbortHandler)
	}
	h.Set("Khomat-Checkpoint", base64.StdEncoding.EncodeToString(cp.Note))
}

// checkpointJSON is a signed checkpoint as the API shows it.
type checkpointJSON struct {
	Origin      string `json:"origin"`
	Size        uint64 `json:"size"`
	Root        string `json:"root"`
	Note        string `json:"note"`
	VerifierKey string `json:"verifier_key"`
}

func (s *Server) checkpointJSON(cp audit.Checkpoint) checkpointJSON {
	return checkpointJSON{Origin: cp.Origin, Size: cp.Size, Root: hex.EncodeToString(cp.Root[:]), Note: string(cp.Note), VerifierKey: s.audit.VerifierKey()}
}

// maxDirectoryIDs bounds the ids one directory request names.
const maxDirectoryIDs = 1000

// auditDirectory says who the accounts named by ?id= are (every account
// without one): the log names actors by id. Auditors only; the identity
// store decides and audits it (audit_read, detail "directory").
func (s *Server) auditDirectory(c *gin.Context) {
	if !s.usersReady(c) {
		return
	}
	ids := c.QueryArray("id")
	if len(ids) > maxDirectoryIDs {
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return
	}
	accounts, err := s.users.Directory(c.Request.Context(), s.actor(c), ids...)
	if err != nil {
		s.failErr(c, err)
		return
	}
	if accounts == nil {
		accounts = []DirectoryEntry{}
	}
	c.JSON(http.StatusOK, gin.H{"accounts": accounts})
}

// auditCheckpoint signs (if needed) and returns a checkpoint covering every
// event so far.
func (s *Server) auditCheckpoint(c *gin.Context) {
	if !s.decide(c, access.ReadAudit, audit.ActionAuditRead) {
		return
	}
	if err := s.record(c, audit.Event{Action: audit.ActionAuditRead, Outcome: audit.Allowed, Reason: string(access.ReasonOK), Detail: "checkpoint"}); err != nil {
		s.failErr(c, err)
		return
	}
	cp, err := s.audit.Checkpoint(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, s.checkpointJSON(cp))
}

// auditProof proves that event seq is in the tree of a checkpoint: the one
// of ?size=, or a new one covering every event.
func (s *Server) auditProof(c *gin.Context) {
	if !s.decide(c, access.ReadAudit, audit.ActionAuditProve) {
		return
	}
	seq, err := strconv.ParseUint(c.Param("seq"), 10, 64)
	if err != nil {
		fail(c, http.StatusNotFound, CodeNotFound)
		return
	}
	size, ok := querySize(c, "size")
	if !ok {
		return
	}
	cp, size, ok := s.proofTree(c, "seq="+strconv.FormatUint(seq, 10), size)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	entry, err := s.audit.Entry(ctx, seq)
	if err == nil && seq >= size {
		err = audit.ErrNotFound
	}
	if err != nil {
		s.auditError(c, err)
		return
	}
	proof, err := s.audit.InclusionProof(ctx, seq, size)
	if err != nil {
		s.auditError(c, err)
		return
	}
	leaf, err := entry.Hash()
	if err != nil {
		s.failErr(c, err)
		return
	}
	s.proofJSON(c, cp, gin.H{"seq": seq, "size": size, "entry": entry, "leaf_hash": hex.EncodeToString(leaf[:]), "proof": hexHashes(proof)})
}

// auditConsistency proves that the tree of the first ?old= events is a
// prefix of the tree of the first ?new= events (a new checkpoint covering
// every event when ?new= is absent): an auditor who kept an older
// checkpoint checks with it that nothing the log held then was changed or
// taken away since.
func (s *Server) auditConsistency(c *gin.Context) {
	if !s.decide(c, access.ReadAudit, audit.ActionAuditProve) {
		return
	}
	older, err := strconv.ParseUint(c.Query("old"), 10, 64)
	if err != nil {
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return
	}
	newer, ok := querySize(c, "new")
	if !ok {
		return
	}
	detail := "old=" + strconv.FormatUint(older, 10)
	if newer != 0 {
		detail += " new=" + strconv.FormatUint(newer, 10)
	}
	cp, newer, ok := s.proofTree(c, detail, newer)
	if !ok {
		return
	}
	proof, err := s.audit.ConsistencyProof(c.Request.Context(), older, newer)
	if err != nil {
		s.auditError(c, err)
		return
	}
	s.proofJSON(c, cp, gin.H{"old": older, "new": newer, "proof": hexHashes(proof)})
}

// querySize reads the tree size in query parameter name; 0 when absent.
func querySize(c *gin.Context, name string) (uint64, bool) {
	v := c.Query(name)
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return 0, false
	}
	return n, true
}

// proofTree records that a proof is asked for (detail names it), then
// returns the size of the tree to prove against: size, or when it is zero
// the size of a new checkpoint covering every event, returned too.
func (s *Server) proofTree(c *gin.Context, detail string, size uint64) (audit.Checkpoint, uint64, bool) {
	if err := s.record(c, audit.Event{Action: audit.ActionAuditProve, Outcome: audit.Allowed, Reason: string(access.ReasonOK), Detail: detail}); err != nil {
		s.failErr(c, err)
		return audit.Checkpoint{}, 0, false
	}
	if size != 0 {
		return audit.Checkpoint{}, size, true
	}
	cp, err := s.audit.Checkpoint(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return audit.Checkpoint{}, 0, false
	}
	return cp, cp.Size, true
}

// proofJSON answers a proof, with the new checkpoint it was made against
// when there is one.
func (s *Server) proofJSON(c *gin.Context, cp audit.Checkpoint, out gin.H) {
	if cp.Note != nil {
		out["checkpoint"] = s.checkpointJSON(cp)
	}
	c.JSON(http.StatusOK, out)
}

// hexHashes writes the hashes of a proof in hex.
func hexHashes(proof []tlog.Hash) []string {
	out := make([]string, len(proof))
	for i, h := range proof {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func (s *Server) auditError(c *gin.Context, err error) {
	if errors.Is(err, audit.ErrNotFound) {
		fail(c, http.StatusNotFound, CodeNotFound)
		return
	}
	s.failErr(c, err)
}
