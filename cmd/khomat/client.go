package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"khomat/api"
	"khomat/archive"
)

// client talks to a running server.
type client struct {
	base  string
	token string
	http  *http.Client
	cli   *cli
}

// clientConfig is what the client commands share: the server and who signs
// in.
type clientConfig struct {
	server string
	user   string
}

func (c *cli) addClientFlags(fs *flag.FlagSet, cc *clientConfig) {
	fs.StringVar(&cc.server, "server", c.env("KHOMAT_SERVER", "http://127.0.0.1:8080"), "the server's URL (env KHOMAT_SERVER)")
	fs.StringVar(&cc.user, "user", c.env("KHOMAT_USER", ""), "sign in as this user when KHOMAT_TOKEN is not set; the password comes from KHOMAT_PASSWORD or the first line of standard input (env KHOMAT_USER)")
}

// connect returns a client with a session: KHOMAT_TOKEN, or a login.
func (c *cli) connect(ctx context.Context, cc *clientConfig) (*client, int) {
	cl := &client{base: strings.TrimRight(cc.server, "/"), http: &http.Client{}, cli: c}
	if tok := c.getenv("KHOMAT_TOKEN"); tok != "" {
		cl.token = tok
		return cl, -1
	}
	if cc.user == "" {
		c.errorf("not signed in: set KHOMAT_TOKEN (see khomat login), or give --user")
		return nil, exitUsage
	}
	sess, code := cl.login(ctx, cc.user)
	if code >= 0 {
		return nil, code
	}
	cl.token = sess.Token
	return cl, -1
}

// password is KHOMAT_PASSWORD or the first line of standard input.
func (c *cli) password() (string, error) {
	if pw := c.getenv("KHOMAT_PASSWORD"); pw != "" {
		return pw, nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password: set KHOMAT_PASSWORD or write it on standard input")
	}
	return line, nil
}

func (cl *client) login(ctx context.Context, user string) (api.Session, int) {
	pw, err := cl.cli.password()
	if err != nil {
		cl.cli.errorf("%v", err)
		return api.Session{}, exitUsage
	}
	body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	var sess api.Session
	if code := cl.call(ctx, "POST", "/api/v1/auth/login", strings.NewReader(string(body)), "application/json", &sess); code >= 0 {
		return api.Session{}, code
	}
	return sess, -1
}

// do sends a request with the session.
func (cl *client) do(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, cl.base+path, body)
	if err != nil {
		return nil, err
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept-Language", cl.cli.env("KHOMAT_LANG", "vi"))
	return cl.http.Do(req)
}

// call sends a request and decodes a JSON answer into out; it returns -1 on
// success or the exit code of the failure, which it reports.
func (cl *client) call(ctx context.Context, method, path string, body io.Reader, ctype string, out any) int {
	resp, err := cl.do(ctx, method, path, body, ctype)
	if err != nil {
		cl.cli.errorf("cannot reach the server: %v", err)
		return exitUnavailable
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return cl.cli.httpFailure(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			cl.cli.errorf("reading the answer: %v", err)
			return exitFailure
		}
	}
	return -1
}

// httpFailure reports a problem answer and maps its status to an exit code.
func (c *cli) httpFailure(resp *http.Response) int {
	var p api.Problem
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &p) == nil && p.Detail != "" {
		c.errorf("%s (%d %s)", p.Detail, resp.StatusCode, p.Code)
		for _, f := range p.Errors {
			c.errorf("  %s: %s", f.Field, f.Detail)
		}
	} else {
		c.errorf("the server answered %s", resp.Status)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return exitRefused
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return exitUnavailable
	}
	return exitFailure
}

// login prints a session token for KHOMAT_TOKEN.
func (c *cli) login(ctx context.Context, args []string) int {
	var cc clientConfig
	fs := c.flags("login", "login --user NAME [flags]\n\nSigns in and prints a session token: export KHOMAT_TOKEN=$(khomat login --user NAME).\nThe password comes from KHOMAT_PASSWORD or the first line of standard input.")
	c.addClientFlags(fs, &cc)
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if cc.user == "" || fs.NArg() > 0 {
		c.errorf("login: give --user")
		return exitUsage
	}
	cl := &client{base: strings.TrimRight(cc.server, "/"), http: &http.Client{}, cli: c}
	sess, code := cl.login(ctx, cc.user)
	if code >= 0 {
		return code
	}
	fmt.Fprintln(c.stdout, sess.Token)
	return exitOK
}

func (c *cli) userAdd(ctx context.Context, args []string) int {
	var cc clientConfig
	var nu api.NewUser
	var roles, clearance, comps string
	fs := c.flags("user add", "user add --username NAME --role ROLE[,ROLE] --clearance LEVEL [flags]\n\nCreates an account (admin). Its password comes from KHOMAT_NEW_PASSWORD or standard input\n(after the admin's own password when that is read from standard input too).")
	c.addClientFlags(fs, &cc)
	fs.StringVar(&nu.Username, "username", "", "the new account's user name")
	fs.StringVar(&nu.DisplayName, "display-name", "", "full name (default the user name)")
	fs.StringVar(&roles, "role", "reader", "roles: reader, archivist, security_officer, auditor, admin (comma-separated)")
	fs.StringVar(&clearance, "clearance", "unclassified", "clearance: unclassified, confidential, secret, top_secret")
	fs.StringVar(&comps, "compartments", "", "compartments (comma-separated)")
	fs.StringVar(&nu.OrgUnit, "org-unit", "", "organisation unit")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if nu.Username == "" || fs.NArg() > 0 {
		c.errorf("user add: give --username")
		return exitUsage
	}
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Username
	}
	body := map[string]any{"username": nu.Username, "display_name": nu.DisplayName, "roles": splitComma(roles),
		"clearance": clearance, "compartments": splitComma(comps), "org_unit": nu.OrgUnit}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	pw := c.getenv("KHOMAT_NEW_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if pw = strings.TrimRight(line, "\r\n"); pw == "" {
			c.errorf("user add: no password (KHOMAT_NEW_PASSWORD or standard input): %v", err)
			return exitUsage
		}
	}
	body["password"] = pw
	b, _ := json.Marshal(body)
	var u api.User
	if code := cl.call(ctx, "POST", "/api/v1/users", strings.NewReader(string(b)), "application/json", &u); code >= 0 {
		return code
	}
	fmt.Fprintln(c.stdout, u.ID)
	return exitOK
}

func (c *cli) userList(ctx context.Context, args []string) int {
	var cc clientConfig
	fs := c.flags("user list", "user list [flags]\n\nLists the accounts the admin may manage.")
	c.addClientFlags(fs, &cc)
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	var out struct{ Users []api.User }
	if code := cl.call(ctx, "GET", "/api/v1/users", nil, "", &out); code >= 0 {
		return code
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tROLES\tCLEARANCE\tDISABLED")
	for _, u := range out.Users {
		roles := make([]string, len(u.Roles))
		for i, r := range u.Roles {
			roles[i] = r.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", u.ID, u.Username, strings.Join(roles, ","), u.Clearance, u.Disabled)
	}
	tw.Flush()
	return exitOK
}

func (c *cli) userDisable(ctx context.Context, args []string) int {
	var cc clientConfig
	fs := c.flags("user disable", "user disable [flags] USER-ID\n\nDisables an account and ends its sessions at once (admin).")
	c.addClientFlags(fs, &cc)
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		c.errorf("user disable: give one user id")
		return exitUsage
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	var u api.User
	if code := cl.call(ctx, "PATCH", "/api/v1/users/"+url.PathEscape(fs.Arg(0)), strings.NewReader(`{"disabled":true}`), "application/json", &u); code >= 0 {
		return code
	}
	fmt.Fprintf(c.stdout, "khomat: %s disabled\n", u.ID)
	return exitOK
}

// docUpload streams a file to the server with its metadata.
func (c *cli) docUpload(ctx context.Context, args []string) int {
	var cc clientConfig
	var metaFile, title, level, docType, body, date, number, secretRef, ctype string
	fs := c.flags("doc upload", "doc upload [flags] FILE\n\nUploads FILE (\"-\" for standard input) with its metadata: a JSON file (--metadata), flags, or both\n(flags win). title, level, doc_type, issuing_body and date_issued are required. Prints the new id.")
	c.addClientFlags(fs, &cc)
	fs.StringVar(&metaFile, "metadata", "", "JSON file of the metadata (the fields of the API's Metadata)")
	fs.StringVar(&title, "title", "", "title (trích yếu)")
	fs.StringVar(&level, "level", "", "secrecy level: unclassified, confidential (mật), secret (tối mật), top_secret (tuyệt mật)")
	fs.StringVar(&docType, "type", "", "document type, e.g. resolution or \"Nghị quyết\"")
	fs.StringVar(&body, "issuing-body", "", "issuing body (cơ quan ban hành)")
	fs.StringVar(&date, "date", "", "date issued, YYYY-MM-DD")
	fs.StringVar(&number, "number", "", "number and symbol, e.g. 15-NQ/TW")
	fs.StringVar(&secretRef, "state-secret-ref", "", "entry of the list of state secrets (classified levels)")
	fs.StringVar(&ctype, "content-type", "", "media type of the file (default from its extension, else application/octet-stream)")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		c.errorf("doc upload: give one file")
		return exitUsage
	}
	meta := map[string]any{}
	if metaFile != "" {
		b, err := os.ReadFile(metaFile)
		if err != nil {
			c.errorf("%v", err)
			return exitFailure
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			c.errorf("%s: %v", metaFile, err)
			return exitUsage
		}
	}
	for k, v := range map[string]string{"title": title, "level": level, "doc_type": docType, "issuing_body": body,
		"date_issued": date, "number_symbol": number, "state_secret_ref": secretRef} {
		if v != "" {
			meta[k] = v
		}
	}
	var src io.Reader = c.stdin
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			c.errorf("%v", err)
			return exitFailure
		}
		defer f.Close()
		src = f
	}
	if ctype == "" {
		ctype = contentTypeOf(name)
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeUpload(mw, meta, filepath.Base(name), ctype, src))
	}()
	var doc archive.Document
	code = cl.call(ctx, "POST", "/api/v1/documents", pr, mw.FormDataContentType(), &doc)
	pr.Close()
	if code >= 0 {
		return code
	}
	fmt.Fprintln(c.stdout, doc.ID)
	return exitOK
}

// writeUpload writes the multipart body: metadata first, then the file.
func writeUpload(mw *multipart.Writer, meta map[string]any, name, ctype string, src io.Reader) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(meta); err != nil {
		return err
	}
	if name == "-" || name == "." {
		name = "stdin"
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", ctype)
	if w, err = mw.CreatePart(h); err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	return mw.Close()
}

func contentTypeOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pdf":
		return "application/pdf"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case ".odt":
		return "application/vnd.oasis.opendocument.text"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".tif", ".tiff":
		return "image/tiff"
	}
	return "application/octet-stream"
}

// docGet writes a document's content, or with --metadata its metadata.
func (c *cli) docGet(ctx context.Context, args []string) int {
	var cc clientConfig
	var out string
	var metaOnly, download bool
	var version int
	fs := c.flags("doc get", "doc get [flags] ID\n\nWrites the content of document ID to standard output or --output, or its metadata as JSON.")
	c.addClientFlags(fs, &cc)
	fs.StringVar(&out, "output", "", "write the content to this file (created, mode 0600) instead of standard output")
	fs.BoolVar(&metaOnly, "metadata", false, "print the metadata as JSON instead of the content")
	fs.BoolVar(&download, "download", false, "take a copy out of the archive (recorded as a copy; entered in the copy register; at Tuyệt mật it needs an approved copy request)")
	fs.IntVar(&version, "version", 0, "content version (default the current one)")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		c.errorf("doc get: give one document id")
		return exitUsage
	}
	id, err := archive.ParseID(fs.Arg(0))
	if err != nil {
		c.errorf("doc get: %q is not a document id", fs.Arg(0))
		return exitUsage
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	path := "/api/v1/documents/" + id.String()
	if metaOnly {
		var doc json.RawMessage
		if code := cl.call(ctx, "GET", path, nil, "", &doc); code >= 0 {
			return code
		}
		fmt.Fprintln(c.stdout, string(doc))
		return exitOK
	}
	q := url.Values{}
	if download {
		q.Set("download", "1")
	}
	if version > 0 {
		q.Set("version", strconv.Itoa(version))
	}
	path += "/content"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, err := cl.do(ctx, "GET", path, nil, "")
	if err != nil {
		c.errorf("cannot reach the server: %v", err)
		return exitUnavailable
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.httpFailure(resp)
	}
	w := c.stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			c.errorf("%v", err)
			return exitFailure
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		// A cut connection means the server found damage or failed: the
		// copy is incomplete and must not be trusted.
		c.errorf("the content arrived incomplete: %v", err)
		if out != "" {
			os.Remove(out)
		}
		return exitFailure
	}
	return exitOK
}

// docSearch prints the hits of a search.
func (c *cli) docSearch(ctx context.Context, args []string) int {
	var cc clientConfig
	var level, docType, from, to, sort string
	var size, page int
	var asJSON bool
	fs := c.flags("doc search", "doc search [flags] QUERY\n\nSearches the documents the signed-in user may read.")
	c.addClientFlags(fs, &cc)
	fs.StringVar(&level, "level", "", "levels (comma-separated)")
	fs.StringVar(&docType, "type", "", "document types (comma-separated)")
	fs.StringVar(&from, "from", "", "issued on or after, YYYY-MM-DD")
	fs.StringVar(&to, "to", "", "issued on or before, YYYY-MM-DD")
	fs.StringVar(&sort, "sort", "", "relevance, date or -date")
	fs.IntVar(&size, "size", 20, "hits per page")
	fs.IntVar(&page, "page", 1, "page")
	fs.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	if code := c.parse(fs, args); code >= 0 {
		return code
	}
	q := url.Values{"q": {strings.Join(fs.Args(), " ")}, "size": {strconv.Itoa(size)}, "page": {strconv.Itoa(page)}}
	for k, v := range map[string]string{"level": level, "type": docType, "from": from, "to": to, "sort": sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	cl, code := c.connect(ctx, &cc)
	if code >= 0 {
		return code
	}
	var res api.SearchResult
	if code := cl.call(ctx, "GET", "/api/v1/search?"+q.Encode(), nil, "", &res); code >= 0 {
		return code
	}
	if asJSON {
		json.NewEncoder(c.stdout).Encode(res)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d kết quả / hits\n", res.Total)
	for _, h := range res.Hits {
		issued := ""
		if !h.IssuedAt.IsZero() {
			issued = h.IssuedAt.StringVI()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, h.Level.NameVI(), h.Type.NameVI(), issued, h.Title)
	}
	tw.Flush()
	return exitOK
}

func splitComma(s string) []string {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
