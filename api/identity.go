package api

import (
	"khomat/api/internal/front"
	"khomat/archive/identity"
)

// Identity serves Sessions and Users from the account directory
// (archive/identity), which authorizes and audits every change itself. It
// is the web pages' adapter too.
type Identity = front.Identity

// NewIdentity returns the API's view of the account directory.
func NewIdentity(s *identity.Service) Identity { return front.NewIdentity(s) }
