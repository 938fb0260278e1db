package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive/access"
	"khomat/archive/audit"
)

// auditPageSize is the number of events on one page of the audit table.
const auditPageSize = 50

// auditFilter is the audit page's filter form, as typed.
type auditFilter struct {
	Actor, Object, Action, Outcome, Level, From, To string
}

// auditData is the data of the audit page.
type auditData struct {
	Filter     auditFilter
	Errors     map[string]string
	Entries    []audit.Entry
	Next       string // URL of the next (older) page, "" on the last
	First      string // URL of the newest page with the same filters
	ExportCSV  string
	ExportJSON string
	Actions    []string
	CanExport  bool
	CanVerify  bool
	Verified   *verifyResult
	// Who says who the accounts on the page are (actors, and the objects
	// of account events), by id.
	Who map[string]DirectoryEntry
}

// verifyResult is what the "verify the log" action found.
type verifyResult struct {
	OK         bool
	Events     uint64
	Segments   int
	Proven     uint64
	Problems   []string
	Checkpoint string
	Size       uint64
	Key        string
}

// auditActions are the actions the filter offers.
func auditActions() []string {
	var out []string
	for _, a := range access.Actions() {
		out = append(out, a.String())
	}
	return append(out, audit.ActionLogin, audit.ActionLoginFailed, audit.ActionLogout, audit.ActionSearch,
		audit.ActionUserCreate, audit.ActionUserUpdate, audit.ActionUserDisable, audit.ActionRoleChange,
		audit.ActionClearance, audit.ActionPasswordSet, audit.ActionKeyRotate, audit.ActionAuditRead,
		audit.ActionAuditExport, audit.ActionAuditVerify, audit.ActionAuditProve, audit.ActionAuditRecover)
}

// auditQuery reads the filter from the URL (ids and codes only: nothing
// classified goes in an audit filter).
func (w *Web) auditQuery(c *gin.Context) (audit.Query, auditFilter, map[string]string) {
	lang := c.GetString(ctxLang)
	f := auditFilter{
		Actor: strings.TrimSpace(c.Query("actor")), Object: strings.TrimSpace(c.Query("object")),
		Action: c.Query("action"), Outcome: c.Query("outcome"), Level: c.Query("level"),
		From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")),
	}
	errs := map[string]string{}
	q := audit.Query{Actor: f.Actor, Object: f.Object, Limit: auditPageSize}
	for k, v := range map[string]string{"actor": f.Actor, "object": f.Object} {
		if len(v) > audit.MaxField || !utf8.ValidString(v) {
			errs[k] = w.msgs.get(lang, "err.value")
		}
	}
	if f.Action != "" {
		q.Actions = []string{f.Action}
	}
	if f.Outcome != "" {
		o := audit.Outcome(f.Outcome)
		if !o.Valid() {
			errs["outcome"] = w.msgs.get(lang, "err.value")
		}
		q.Outcomes = []audit.Outcome{o}
	}
	if f.Level != "" {
		l, err := access.ParseLevel(f.Level)
		if err != nil {
			errs["level"] = w.msgs.get(lang, "err.value")
		}
		q.Levels = []access.Level{l}
	}
	loc := w.location()
	from, err := parseDateVI(f.From)
	if err != nil {
		errs["from"] = w.msgs.get(lang, "err.date")
	} else if !from.IsZero() {
		q.From = from.Time(loc)
	}
	to, err := parseDateVI(f.To)
	if err != nil {
		errs["to"] = w.msgs.get(lang, "err.date")
	} else if !to.IsZero() {
		q.To = to.Time(loc).AddDate(0, 0, 1) // the whole day
	}
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs["before"] = w.msgs.get(lang, "err.value")
		}
		q.Before = n
	}
	return q, f, errs
}

func (f auditFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": f.Actor, "object": f.Object, "action": f.Action,
		"outcome": f.Outcome, "level": f.Level, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// decideAudit checks an audit action and records a denial.
func (w *Web) decideAudit(c *gin.Context, act access.Action, event string) bool {
	d := access.Decide(user(c).Subject(), act, access.Resource{})
	if d.Allow {
		return true
	}
	if err := w.record(c, audit.Event{Action: event, Outcome: audit.Denied, Reason: string(d.Reason)}); err != nil {
		w.failErr(c, err)
		return false
	}
	w.fail(c, http.StatusForbidden, "err.forbidden")
	return false
}

// auditPage shows a filtered page of the audit log, newest first. Reading
// the log is itself audited.
func (w *Web) auditPage(c *gin.Context) {
	if !w.decideAudit(c, access.ReadAudit, audit.ActionAuditRead) {
		return
	}
	w.showAudit(c, nil)
}

func (w *Web) showAudit(c *gin.Context, verified *verifyResult) {
	q, f, errs := w.auditQuery(c)
	d := &auditData{Filter: f, Errors: errs, Actions: auditActions(), Verified: verified,
		CanExport: may(c, access.ExportAudit), CanVerify: w.verify != nil}
	base := f.values()
	d.First = w.path("/audit") + "?" + base.Encode()
	for format, dst := range map[string]*string{"csv": &d.ExportCSV, "jsonl": &d.ExportJSON} {
		v := f.values()
		v.Set("format", format)
		*dst = w.path("/audit/export") + "?" + v.Encode()
	}
	status := http.StatusOK
	if len(errs) == 0 && f.Actor != "" && !hexID(f.Actor) {
		// An auditor types a username; the log holds ids.
		id, err := w.accountID(c, f.Actor)
		if err != nil {
			w.failErr(c, err)
			return
		}
		if id == "" {
			errs["actor"] = w.msgs.get(c.GetString(ctxLang), "audit.noaccount")
		}
		q.Actor = id
	}
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		if err := w.record(c, audit.Event{Action: audit.ActionAuditRead, Outcome: audit.Allowed, Reason: string(access.ReasonOK)}); err != nil {
			w.failErr(c, err)
			return
		}
		page, err := w.audit.Query(c.Request.Context(), q)
		if err != nil {
			w.failErr(c, err)
			return
		}
		d.Entries = page.Entries
		if d.Who, err = w.who(c, page.Entries); err != nil {
			w.failErr(c, err)
			return
		}
		if page.Next != 0 {
			v := f.values()
			v.Set("before", strconv.FormatUint(page.Next, 10))
			d.Next = w.path("/audit") + "?" + v.Encode()
		}
	}
	w.render(c, status, "audit", w.newView(c, "title.audit", d))
}

// auditExport streams the events that match the filter as CSV or JSON
// Lines, for offline checking; the export is audited first.
func (w *Web) auditExport(c *gin.Context) {
	if !w.decideAudit(c, access.ExportAudit, audit.ActionAuditExport) {
		return
	}
	q, _, errs := w.auditQuery(c)
	if len(errs) > 0 {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	format, ctype, ext := audit.CSV, "text/csv; charset=utf-8", ".csv"
	switch c.DefaultQuery("format", "csv") {
	case "csv":
	case "jsonl":
		format, ctype, ext = audit.JSONLines, "application/jsonl; charset=utf-8", ".jsonl"
	default:
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	if err := w.record(c, audit.Event{Action: audit.ActionAuditExport, Outcome: audit.Allowed, Reason: string(access.ReasonOK), Detail: "format=" + string(format)}); err != nil {
		w.failErr(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="khomat-audit-`+w.now().In(w.location()).Format("20060102-150405")+ext+`"`)
	c.Status(http.StatusOK)
	if _, err := w.audit.Export(c.Request.Context(), c.Writer, q, format); err != nil {
		w.log.Error("audit export failed", "request_id", c.GetString(ctxRID), "err", err)
		panic(http.ErrAbortHandler)
	}
}

// auditVerify re-reads the whole log with only its public key and shows
// what it found, beside the latest signed checkpoint.
func (w *Web) auditVerify(c *gin.Context) {
	if !w.decideAudit(c, access.ReadAudit, audit.ActionAuditVerify) {
		return
	}
	if w.verify == nil {
		w.fail(c, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	if err := w.record(c, audit.Event{Action: audit.ActionAuditVerify, Outcome: audit.Allowed, Reason: string(access.ReasonOK)}); err != nil {
		w.failErr(c, err)
		return
	}
	cp, err := w.audit.Checkpoint(c.Request.Context())
	if err != nil {
		w.failErr(c, err)
		return
	}
	start := time.Now()
	rep, err := w.verify(c.Request.Context())
	if err != nil {
		w.failErr(c, err)
		return
	}
	w.log.Info("audit log verified from the web", "request_id", c.GetString(ctxRID), "ok", rep.OK(), "duration_ms", time.Since(start).Milliseconds())
	r := &verifyResult{OK: rep.OK(), Events: rep.Events, Segments: rep.Segments, Proven: rep.Size,
		Checkpoint: string(cp.Note), Size: cp.Size, Key: w.audit.VerifierKey()}
	for _, p := range rep.Problems {
		r.Problems = append(r.Problems, p.String())
	}
	w.showAudit(c, r)
}

// accountEvents are the actions whose object is an account.
var accountEvents = map[string]bool{
	audit.ActionUserCreate: true, audit.ActionUserUpdate: true, audit.ActionUserDisable: true,
	audit.ActionRoleChange: true, audit.ActionClearance: true, audit.ActionPasswordSet: true,
	access.ManageUsers.String(): true, access.GrantClearance.String(): true,
}

// who looks up the accounts of a page of events in the directory: every
// actor, and the object of account events. Without an account directory
// (Config.Users nil) the page shows ids.
func (w *Web) who(c *gin.Context, entries []audit.Entry) (map[string]DirectoryEntry, error) {
	var ids []string
	for _, e := range entries {
		if e.Actor != "" && e.Actor != audit.SystemActor {
			ids = append(ids, e.Actor)
		}
		if e.Object != "" && accountEvents[e.Action] {
			ids = append(ids, e.Object)
		}
	}
	if len(ids) == 0 || w.users == nil {
		return nil, nil
	}
	accounts, err := w.users.Directory(c.Request.Context(), actor(c), ids...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]DirectoryEntry, len(accounts))
	for _, a := range accounts {
		out[a.ID] = a
	}
	return out, nil
}

// accountID returns the id of the account whose username is name (in any
// case), or "" if there is none.
func (w *Web) accountID(c *gin.Context, name string) (string, error) {
	if w.users == nil {
		return "", nil
	}
	accounts, err := w.users.Directory(c.Request.Context(), actor(c), name)
	if err != nil || len(accounts) == 0 {
		return "", err
	}
	return accounts[0].ID, nil
}

// hexID reports whether s has the form of an account or document id: 32
// lower-case hexadecimal digits.
func hexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
