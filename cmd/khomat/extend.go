package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"khomat/archive"
)

// docExtend extends a document's protection period on a running server
// (security officer).
func (c *cli) docExtend(ctx context.Context, args []string) int {
	var cc clientConfig
	var years int
	var decision, reason string
	fs := c.flags("doc extend", "doc extend --years N --decision-ref REF [flags] ID\n\n"+
		"Extends the protection period of classified document ID by N years, on the decision REF,\n"+
		"before the period ends (security officer). Prints the new end date.")
	c.addClientFlags(fs, &cc)
	fs.IntVar(&years, "years", 0, "years to add (at most the level's period)")
	fs.StringVar(&decision, "decision-ref", "", "number and date of the decision to extend (required)")
	fs.StringVar(&reason, "reason", "", "why the period is extended")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		c.errorf("doc extend: give one document id")
		return exitUsage
	}
	id, err := archive.ParseID(fs.Arg(0))
	if err != nil {
		c.errorf("doc extend: %q is not a document id", fs.Arg(0))
		return exitUsage
	}
	if years < 1 || decision == "" {
		c.errorf("doc extend: --years (at least 1) and --decision-ref are required")
		return exitUsage
	}
	body, err := json.Marshal(map[string]any{"years": years, "decision_ref": decision, "reason": reason})
	if err != nil {
		c.errorf("%v", err)
		return exitFailure
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	var doc archive.Document
	if code := cl.call(ctx, "POST", "/api/v1/documents/"+id.String()+"/protection", bytes.NewReader(body), "application/json", &doc); code >= 0 {
		return code
	}
	if n := len(doc.History); n > 0 && doc.History[n-1].IsExtension() {
		fmt.Fprintf(c.stdout, "%s %s\n", id, doc.History[n-1].NewEnd)
	} else {
		fmt.Fprintln(c.stdout, id)
	}
	return exitOK
}
