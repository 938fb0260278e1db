package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
)

// The roles of the matrix: none means no session at all.
var matrixRoles = []string{"none", "reader", "archivist", "security_officer", "auditor", "admin"}

// The level relations of the matrix, between the caller's clearance and
// the level of the document (or of what is created): the documents are
// Mật (confidential); callers are cleared Tối mật (above), Mật (equal) or
// Thường (below).
var matrixRelations = []struct {
	name      string
	clearance access.Level
}{{"above", access.Secret}, {"equal", access.Confidential}, {"below", access.Unclassified}}

// matrixCase is one route and the expected status for each role (rows, in
// matrixRoles order) and relation (columns: above, equal, below).
type matrixCase struct {
	route  string
	expect [6][3]int
}

const (
	ok  = http.StatusOK
	crt = http.StatusCreated
	nc  = http.StatusNoContent
	una = http.StatusUnauthorized
	frb = http.StatusForbidden
	nf  = http.StatusNotFound
)

var matrix = []matrixCase{
	{"GET /api/v1/me", [6][3]int{{una, una, una}, {ok, ok, ok}, {ok, ok, ok}, {ok, ok, ok}, {ok, ok, ok}, {ok, ok, ok}}},
	{"POST /api/v1/auth/logout", [6][3]int{{una, una, una}, {nc, nc, nc}, {nc, nc, nc}, {nc, nc, nc}, {nc, nc, nc}, {nc, nc, nc}}},
	// Creating a Mật document: archivists cleared for it.
	{"POST /api/v1/documents", [6][3]int{{una, una, una}, {frb, frb, frb}, {crt, crt, frb}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}}},
	// Reading: content roles up to their clearance; everyone else is told
	// the document does not exist.
	{"GET /api/v1/documents/:id", [6][3]int{{una, una, una}, {ok, ok, nf}, {ok, ok, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"GET /api/v1/documents/:id/revisions", [6][3]int{{una, una, una}, {ok, ok, nf}, {ok, ok, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"GET /api/v1/documents/:id/content", [6][3]int{{una, una, una}, {ok, ok, nf}, {ok, ok, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"GET /api/v1/documents/:id/content?download=1", [6][3]int{{una, una, una}, {ok, ok, nf}, {ok, ok, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Changing: archivists; a reader who can see it is refused openly.
	{"PATCH /api/v1/documents/:id", [6][3]int{{una, una, una}, {frb, frb, nf}, {ok, ok, nf}, {frb, frb, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"POST /api/v1/documents/:id/versions", [6][3]int{{una, una, una}, {frb, frb, nf}, {crt, crt, nf}, {frb, frb, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Raising Mật to Tối mật: archivist or security officer, not above
	// their own clearance.
	{"POST /api/v1/documents/:id/classification raise", [6][3]int{{una, una, una}, {frb, frb, nf}, {ok, frb, nf}, {ok, frb, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Declassifying: the security officer only.
	{"POST /api/v1/documents/:id/classification lower", [6][3]int{{una, una, una}, {frb, frb, nf}, {frb, frb, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Extending the protection period: the security officer only.
	{"POST /api/v1/documents/:id/protection", [6][3]int{{una, una, una}, {frb, frb, nf}, {frb, frb, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Copies: whoever may read asks; a security officer other than the
	// requester approves.
	{"POST /api/v1/documents/:id/copies", [6][3]int{{una, una, una}, {crt, crt, nf}, {crt, crt, nf}, {crt, crt, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"POST /api/v1/documents/:id/copies/:req/approve", [6][3]int{{una, una, una}, {frb, frb, nf}, {frb, frb, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Destruction: an archivist or security officer asks, another
	// security officer approves; the requester or a security officer
	// withdraws (the pending request is the owner's).
	{"POST /api/v1/documents/:id/destruction", [6][3]int{{una, una, una}, {frb, frb, nf}, {ok, ok, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"DELETE /api/v1/documents/:id/destruction", [6][3]int{{una, una, una}, {frb, frb, nf}, {frb, frb, nf}, {ok, ok, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	{"POST /api/v1/documents/:id/destruction/approve", [6][3]int{{una, una, una}, {frb, frb, nf}, {frb, frb, nf}, {nc, nc, nf}, {nf, nf, nf}, {nf, nf, nf}}},
	// Searching: content roles; what they find is bound to their
	// clearance (TestSearchNeverLeaks).
	{"GET /api/v1/search", [6][3]int{{una, una, una}, {ok, ok, ok}, {ok, ok, ok}, {ok, ok, ok}, {frb, frb, frb}, {frb, frb, frb}}},
	// The audit log: auditors only, whatever their clearance.
	{"GET /api/v1/audit/events", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	{"GET /api/v1/audit/export", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	{"GET /api/v1/audit/checkpoint", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	{"GET /api/v1/audit/directory", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	{"GET /api/v1/audit/proof/:seq", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	{"GET /api/v1/audit/consistency?old=1", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}, {frb, frb, frb}}},
	// Accounts: admins only, and never a clearance above their own (the
	// account created or changed is cleared Mật); an account above the
	// admin's clearance does not exist for them.
	{"GET /api/v1/users", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, ok}}},
	{"POST /api/v1/users", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {crt, crt, frb}}},
	{"PATCH /api/v1/users/:id", [6][3]int{{una, una, una}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {frb, frb, frb}, {ok, ok, nf}}},
}

// TestAuthorizationMatrix runs every route of the matrix as every role at
// every level relation, each on a fresh document, and checks the status:
// on the folder store, and on a real MinIO.
func TestAuthorizationMatrix(t *testing.T) { authorizationMatrix(t, false) }

func TestAuthorizationMatrixS3(t *testing.T) { authorizationMatrix(t, true) }

func authorizationMatrix(t *testing.T, s3 bool) {
	e := newEnv(t, envOptions{s3: s3})
	owner := e.user("owner", access.TopSecret, access.Archivist)
	e.owner = owner
	n := 0
	for _, mc := range matrix {
		for ri, role := range matrixRoles {
			for li, rel := range matrixRelations {
				n++
				name := fmt.Sprintf("%s/%s/%s", mc.route, role, rel.name)
				t.Run(name, func(t *testing.T) {
					tok := ""
					if role != "none" {
						r, err := access.ParseRole(role)
						if err != nil {
							t.Fatal(err)
						}
						tok = e.user(fmt.Sprintf("matrix%d", n), rel.clearance, r)
					}
					doc := e.upload(owner, meta("Nghị quyết về công tác bảo vệ bí mật", access.Confidential), []byte("nội dung mật"))
					got := e.matrixRequest(mc.route, tok, doc, n)
					if want := mc.expect[ri][li]; got != want {
						t.Errorf("%s as %s (%s): got %d, want %d", mc.route, role, rel.name, got, want)
					}
				})
			}
		}
	}
}

// matrixRequest makes the request of one matrix route.
func (e *env) matrixRequest(route, tok string, doc archive.Document, n int) int {
	e.t.Helper()
	id := doc.ID.String()
	r := request{token: tok}
	method, rest, _ := strings.Cut(route, " ")
	path, _, _ := strings.Cut(rest, " ")
	r.method = method
	r.path = strings.NewReplacer(":id", id, ":seq", "0").Replace(path)
	owner := e.ownerActor()
	switch route {
	case "POST /api/v1/documents":
		r.body, r.contentType = uploadBody(meta("Tài liệu mới", access.Confidential), []byte("x"))
	case "PATCH /api/v1/documents/:id":
		r.body, r.contentType = jsonBody(map[string]any{"summary": "Tóm tắt mới"}), "application/merge-patch+json"
	case "POST /api/v1/documents/:id/versions":
		r.body, r.contentType = multipartBody(part{name: "file", filename: "v2.pdf", contentType: "application/pdf", data: []byte("v2")})
	case "POST /api/v1/documents/:id/classification raise":
		r.body, r.contentType = jsonBody(map[string]any{"level": "secret", "reason": "nâng độ mật", "decision_ref": "QĐ 12/QĐ-VPTU"}), "application/json"
	case "POST /api/v1/documents/:id/classification lower":
		r.body, r.contentType = jsonBody(map[string]any{"level": "unclassified", "reason": "giải mật", "decision_ref": "QĐ 13/QĐ-VPTU"}), "application/json"
	case "POST /api/v1/documents/:id/protection":
		r.body, r.contentType = jsonBody(map[string]any{"years": 5, "reason": "còn giá trị bảo vệ", "decision_ref": "QĐ 15/QĐ-VPTU"}), "application/json"
	case "POST /api/v1/documents/:id/copies":
		r.body, r.contentType = jsonBody(map[string]any{"reason": "phục vụ họp"}), "application/json"
	case "POST /api/v1/documents/:id/copies/:req/approve":
		cr, err := e.svc.RequestCopy(context.Background(), owner, doc.ID, "phục vụ họp")
		if err != nil {
			e.t.Fatal(err)
		}
		r.path = strings.Replace(r.path, ":req", cr.ID, 1)
	case "POST /api/v1/documents/:id/destruction":
		r.body, r.contentType = jsonBody(map[string]any{"reason": "hết giá trị", "decision_ref": "QĐ 14/QĐ-VPTU"}), "application/json"
	case "DELETE /api/v1/documents/:id/destruction", "POST /api/v1/documents/:id/destruction/approve":
		if _, err := e.svc.RequestDestruction(context.Background(), owner, doc.ID, "hết giá trị", "QĐ 14/QĐ-VPTU"); err != nil {
			e.t.Fatal(err)
		}
	case "POST /api/v1/users":
		r.body, r.contentType = jsonBody(map[string]any{"username": fmt.Sprintf("new%d", n), "password": "một mật khẩu đủ dài 2025",
			"display_name": "Cán bộ mới", "roles": []string{"reader"}, "clearance": "confidential"}), "application/json"
	case "PATCH /api/v1/users/:id":
		target := e.account(fmt.Sprintf("target%d", n), access.Confidential, access.Reader)
		r.path = "/api/v1/users/" + target.ID
		r.body, r.contentType = jsonBody(map[string]any{"display_name": "Tên mới"}), "application/json"
	}
	resp := e.do(r)
	resp.Body.Close()
	return resp.StatusCode
}

// ownerActor is the archivist who owns the matrix's documents, as the
// archive sees them.
func (e *env) ownerActor() archive.Actor {
	u, err := e.ids.Authenticate(context.Background(), e.owner)
	if err != nil {
		e.t.Fatal(err)
	}
	return archive.Actor{Subject: u.Subject(), ClientAddr: "127.0.0.1"}
}
