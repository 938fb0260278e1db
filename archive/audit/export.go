package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Format is an export format.
type Format string

// The export formats.
const (
	// JSONLines writes one JSON object per event: the Entry fields and
	// "leaf", its leaf hash, enough to recompute the canonical encoding
	// and check an inclusion proof.
	JSONLines Format = "jsonl"
	// CSV writes a header row and one row per event, with the same
	// columns. Cells that a spreadsheet would take for a formula are
	// prefixed with a quote.
	CSV Format = "csv"
)

// csvHeader lists the export columns.
var csvHeader = []string{"seq", "time", "actor", "roles", "clearance", "org_unit", "action", "object",
	"version", "level", "target", "outcome", "reason", "client_ip", "request", "query_hash", "detail", "prev", "leaf"}

// Export writes the events that match q (all pages, newest first, q.Limit
// ignored) in the given format, and returns the checkpoint that covers
// them: every exported event has a sequence number below its size, so an
// auditor can ask for an inclusion proof of any of them against it.
// Record the export itself with an ActionAuditExport event.
func (l *Log) Export(ctx context.Context, w io.Writer, q Query, f Format) (Checkpoint, error) {
	if f != JSONLines && f != CSV {
		return Checkpoint{}, fmt.Errorf("audit: unknown export format %q", f)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if q.Before == 0 || q.Before > cp.Size {
		q.Before = cp.Size
	}
	if cp.Size == 0 {
		q.Before = 0
	}
	q.Limit = 1000
	bw := bufio.NewWriter(w)
	var cw *csv.Writer
	if f == CSV {
		cw = csv.NewWriter(bw)
		cw.Write(csvHeader)
	}
	enc := json.NewEncoder(bw)
	for cp.Size > 0 {
		page, err := l.Query(ctx, q)
		if err != nil {
			return Checkpoint{}, err
		}
		for i := range page.Entries {
			en := &page.Entries[i]
			leaf, err := en.Hash()
			if err != nil {
				return Checkpoint{}, err
			}
			if f == CSV {
				err = cw.Write(csvRow(en, leaf.String()))
			} else {
				err = enc.Encode(struct {
					*Entry
					Leaf string `json:"leaf"`
				}{en, leaf.String()})
			}
			if err != nil {
				return Checkpoint{}, fmt.Errorf("audit: export: %w", err)
			}
		}
		if page.Next == 0 {
			break
		}
		q.Before = page.Next
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return Checkpoint{}, fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: export: %w", err)
	}
	return cp, nil
}

func csvRow(en *Entry, leaf string) []string {
	roles := make([]string, len(en.Roles))
	for i, r := range en.Roles {
		roles[i] = r.String()
	}
	row := []string{strconv.FormatUint(en.Seq, 10), en.Time.Format(time.RFC3339Nano), en.Actor,
		strings.Join(roles, ";"), en.Clearance.String(), en.OrgUnit, en.Action, en.Object,
		strconv.FormatUint(uint64(en.Version), 10), en.Level.String(), en.Target.String(),
		string(en.Outcome), en.Reason, en.ClientIP, en.Request, en.QueryHash, en.Detail,
		en.Prev.String(), leaf}
	// Only the columns a client or an operator can shape; hashes and
	// codes are left exact.
	for _, i := range []int{2, 5, 7, 12, 13, 14, 16} {
		row[i] = defuse(row[i])
	}
	return row
}

// defuse keeps a spreadsheet from running a cell as a formula (CSV
// injection): request ids and client addresses come from the network.
func defuse(c string) string {
	if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
		return "'" + c
	}
	return c
}
