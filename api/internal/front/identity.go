package front

import (
	"context"
	"errors"
	"fmt"

	"khomat/archive"
	"khomat/archive/identity"
)

// Identity serves both front ends' sessions and account management from
// the account directory (archive/identity), which authorizes and audits
// every change itself.
type Identity struct{ s *identity.Service }

// NewIdentity returns the front ends' view of the account directory.
func NewIdentity(s *identity.Service) Identity { return Identity{s} }

// Error translates the directory's errors into the front ends'. Field
// errors (identity.FieldErrors) stay in the chain, under ErrInvalid, for
// the forms and problems that list them.
func Error(err error) error {
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

func user(u identity.User) User {
	return User{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles,
		Clearance: u.Clearance, Compartments: u.Compartments, OrgUnit: u.OrgUnit,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// Login checks a user name and password; client is the caller's address,
// for throttling.
func (x Identity) Login(ctx context.Context, username, password, client string) (Session, error) {
	tok, sess, u, err := x.s.Login(ctx, username, password, client)
	if err != nil {
		return Session{}, Error(err)
	}
	return Session{Token: tok, ExpiresAt: sess.ExpiresAt, User: user(u)}, nil
}

// Authenticate returns the user of a live session.
func (x Identity) Authenticate(ctx context.Context, token string) (User, error) {
	u, _, err := x.s.Authenticate(ctx, token)
	if err != nil {
		return User{}, Error(err)
	}
	return user(u), nil
}

// Logout ends the session of token.
func (x Identity) Logout(ctx context.Context, token, client string) error {
	return Error(x.s.Logout(ctx, token, client))
}

// CreateUser creates an account.
func (x Identity) CreateUser(ctx context.Context, a archive.Actor, n NewUser) (User, error) {
	u, err := x.s.Create(ctx, a, identity.NewUser{
		Username: n.Username, Password: n.Password, DisplayName: n.DisplayName, Roles: n.Roles,
		Clearance: n.Clearance, Compartments: n.Compartments, OrgUnit: n.OrgUnit,
	})
	if err != nil {
		return User{}, Error(err)
	}
	return user(u), nil
}

// ListUsers lists the accounts the actor may manage.
func (x Identity) ListUsers(ctx context.Context, a archive.Actor) ([]User, error) {
	us, err := x.s.List(ctx, a)
	if err != nil {
		return nil, Error(err)
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = user(u)
	}
	return out, nil
}

// Directory says who the accounts named by keys (ids or usernames) are.
func (x Identity) Directory(ctx context.Context, a archive.Actor, keys ...string) ([]DirectoryEntry, error) {
	d, err := x.s.Directory(ctx, a, keys...)
	if err != nil {
		return nil, Error(err)
	}
	return d, nil
}

// UpdateUser changes an account: the account fields first, then the
// password when one is given.
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
		return User{}, Error(err)
	}
	if ch.Password != nil {
		if err := x.s.SetPassword(ctx, a, id, *ch.Password); err != nil {
			return User{}, Error(err)
		}
	}
	return user(u), nil
}
