package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/identity"
	"khomat/search"
)

// Identity serves Sessions and Users from the account directory
// (archive/identity), which authorizes and audits every change itself.
type Identity struct{ s *identity.Service }

var (
	_ Sessions = Identity{}
	_ Users    = Identity{}
)

// NewIdentity returns the pages' view of the account directory.
func NewIdentity(s *identity.Service) Identity { return Identity{s} }

// identityError translates the directory's errors into the interface's;
// field errors stay in the chain for the forms.
func identityError(err error) error {
	var te *identity.ThrottledError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return &ThrottledError{RetryAfter: te.RetryAfter}
	case errors.Is(err, identity.ErrBadCredentials):
		return ErrInvalidCredentials
	case errors.Is(err, identity.ErrUnauthenticated):
		return ErrUnauthenticated
	case errors.Is(err, identity.ErrForbidden):
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, identity.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, identity.ErrConflict):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, identity.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, identity.ErrAudit):
		return fmt.Errorf("%w: %w", archive.ErrAudit, err)
	case errors.Is(err, identity.ErrIntegrity):
		return fmt.Errorf("%w: %w", archive.ErrIntegrity, err)
	}
	return err
}

func webUser(u identity.User) User {
	return User{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles,
		Clearance: u.Clearance, Compartments: u.Compartments, OrgUnit: u.OrgUnit,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// Login implements Sessions.
func (x Identity) Login(ctx context.Context, username, password, client string) (Session, error) {
	tok, sess, u, err := x.s.Login(ctx, username, password, client)
	if err != nil {
		return Session{}, identityError(err)
	}
	return Session{Token: tok, ExpiresAt: sess.ExpiresAt, User: webUser(u)}, nil
}

// Authenticate implements Sessions.
func (x Identity) Authenticate(ctx context.Context, token string) (User, error) {
	u, _, err := x.s.Authenticate(ctx, token)
	if err != nil {
		return User{}, identityError(err)
	}
	return webUser(u), nil
}

// Logout implements Sessions.
func (x Identity) Logout(ctx context.Context, token, client string) error {
	return identityError(x.s.Logout(ctx, token, client))
}

// CreateUser implements Users.
func (x Identity) CreateUser(ctx context.Context, a archive.Actor, n NewUser) (User, error) {
	u, err := x.s.Create(ctx, a, identity.NewUser{
		Username: n.Username, Password: n.Password, DisplayName: n.DisplayName, Roles: n.Roles,
		Clearance: n.Clearance, Compartments: n.Compartments, OrgUnit: n.OrgUnit,
	})
	if err != nil {
		return User{}, identityError(err)
	}
	return webUser(u), nil
}

// ListUsers implements Users.
func (x Identity) ListUsers(ctx context.Context, a archive.Actor) ([]User, error) {
	us, err := x.s.List(ctx, a)
	if err != nil {
		return nil, identityError(err)
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = webUser(u)
	}
	return out, nil
}

// UpdateUser implements Users: the account fields first, then the password
// when one is given.
func (x Identity) UpdateUser(ctx context.Context, a archive.Actor, id string, ch UserChange) (User, error) {
	up := identity.UserUpdate{
		DisplayName: ch.DisplayName, OrgUnit: ch.OrgUnit, Roles: ch.Roles,
		Clearance: ch.Clearance, Compartments: ch.Compartments, Disabled: ch.Disabled,
	}
	var u identity.User
	var err error
	if up != (identity.UserUpdate{}) {
		u, err = x.s.Update(ctx, a, id, up)
	} else {
		u, err = x.s.Get(ctx, a, id)
	}
	if err != nil {
		return User{}, identityError(err)
	}
	if ch.Password != nil {
		if err := x.s.SetPassword(ctx, a, id, *ch.Password); err != nil {
			return User{}, identityError(err)
		}
	}
	return webUser(u), nil
}

// Index serves Searcher from the search package's per-level indexes.
type Index struct{ x *search.Index }

var _ Searcher = Index{}

// NewIndex returns the pages' view of the search indexes.
func NewIndex(x *search.Index) Index { return Index{x} }

// Search implements Searcher: the page's request in the search package's
// terms, and its fragments as text with the matched words between <mark>
// and </mark>.
func (i Index) Search(ctx context.Context, s access.Subject, r SearchRequest) (SearchResult, error) {
	sort := search.SortAuto
	switch r.Sort {
	case "relevance":
		sort = search.SortRelevance
	case "-date":
		sort = search.SortNewest
	case "date":
		sort = search.SortOldest
	}
	size := r.Size
	if size <= 0 {
		size = pageSize
	}
	res, err := i.x.Search(ctx, s, search.Request{
		Query: r.Query, Levels: r.Levels, Types: r.Types, Issuers: r.IssuingBodies, From: r.From, To: r.To,
		Sort: sort, Offset: (max(r.Page, 1) - 1) * size, Limit: size, Facets: true,
	})
	var qe *search.QueryError
	switch {
	case errors.As(err, &qe):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	case errors.Is(err, search.ErrForbidden):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, search.ErrNotReady), errors.Is(err, search.ErrClosed):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return SearchResult{}, err
	}
	out := SearchResult{Total: res.Total, Facets: map[string][]FacetCount{}}
	for _, h := range res.Hits {
		hit := SearchHit{ID: h.ID, Title: h.Title, Level: h.Level, Type: h.Type, NumberSymbol: h.NumberSymbol,
			IssuingBody: h.IssuingBody, IssuedAt: h.DateIssued, Score: h.Score}
		for _, f := range h.Fragments {
			if hit.Highlights == nil {
				hit.Highlights = map[string][]string{}
			}
			hit.Highlights[f.Field] = append(hit.Highlights[f.Field], markSpans(f))
		}
		out.Hits = append(out.Hits, hit)
	}
	if f := res.Facets; f != nil {
		for key, counts := range map[string][]search.FacetCount{"level": f.Levels, "doc_type": f.Types, "issuing_body": f.Issuers} {
			for _, c := range counts {
				out.Facets[key] = append(out.Facets[key], FacetCount{Value: c.Value, Count: c.Count})
			}
		}
	}
	return out, nil
}

// markSpans writes a fragment as escaped text with its marked spans
// between <mark> and </mark>.
func markSpans(f search.Fragment) string {
	var b strings.Builder
	at := 0
	for _, m := range f.Marks {
		if m.Start < at || m.End > len(f.Text) || m.Start > m.End {
			continue
		}
		b.WriteString(html.EscapeString(f.Text[at:m.Start]))
		b.WriteString("<mark>" + html.EscapeString(f.Text[m.Start:m.End]) + "</mark>")
		at = m.End
	}
	b.WriteString(html.EscapeString(f.Text[at:]))
	return b.String()
}
