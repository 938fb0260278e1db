package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive/access"
	"khomat/archive/audit"
)

// usersData is the data of the accounts list.
type usersData struct {
	Users []User
}

// userData is the data of the account form (new or edit).
type userData struct {
	New          bool
	Account      User
	Form         metaForm
	Errors       map[string]string
	Levels       []access.Level // the clearances the admin may grant
	Compartments []string       // the compartments the admin may grant
	Self         bool
}

func (w *Web) isAdmin(c *gin.Context) bool {
	if w.users == nil {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return false
	}
	if !user(c).Subject().Has(access.Admin) {
		// The account directory decides every change itself; a page
		// refused before it is asked is recorded here.
		if err := w.record(c, audit.Event{Action: access.ManageUsers.String(), Outcome: audit.Denied, Reason: string(access.ReasonNoRole)}); err != nil {
			w.failErr(c, err)
			return false
		}
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return false
	}
	return true
}

// grantable are the clearances an admin may grant: never above their own.
func grantable(s access.Subject) []access.Level {
	var out []access.Level
	for _, l := range access.Levels() {
		if access.Decide(s, access.GrantClearance, access.Resource{Target: l}).Allow {
			out = append(out, l)
		}
	}
	return out
}

// usersPage lists the accounts the admin may manage.
func (w *Web) usersPage(c *gin.Context) {
	if !w.isAdmin(c) {
		return
	}
	list, err := w.users.ListUsers(c.Request.Context(), actor(c))
	if err != nil {
		w.failErr(c, err)
		return
	}
	slices.SortFunc(list, func(a, b User) int { return strings.Compare(a.Username, b.Username) })
	w.render(c, http.StatusOK, "users", w.newView(c, "title.users", &usersData{Users: list}))
}

func (w *Web) userView(c *gin.Context, d *userData) *view {
	s := user(c).Subject()
	d.Levels = grantable(s)
	d.Compartments = s.Compartments
	key := "title.useredit"
	if d.New {
		key = "title.usernew"
	}
	return w.newView(c, key, d)
}

// userNewPage shows the form that creates an account.
func (w *Web) userNewPage(c *gin.Context) {
	if !w.isAdmin(c) {
		return
	}
	w.render(c, http.StatusOK, "user", w.userView(c, &userData{New: true, Form: metaForm{"roles": "reader"}}))
}

// userForm reads the account form: roles and compartments are checkboxes.
func userForm(c *gin.Context) metaForm {
	f := metaForm{}
	for _, n := range []string{"username", "password", "display_name", "clearance", "org_unit"} {
		f[n] = c.PostForm(n)
	}
	f["roles"] = strings.Join(c.PostFormArray("roles"), "\n")
	f["compartments"] = strings.Join(c.PostFormArray("compartments"), "\n")
	return f
}

// parseAccess reads roles, clearance and compartments from the form.
func (w *Web) parseAccess(f metaForm, lang string, errs map[string]string) ([]access.Role, access.Level, []string) {
	var roles []access.Role
	for _, r := range splitList(f["roles"]) {
		role, err := access.ParseRole(r)
		if err != nil {
			errs["roles"] = w.msgs.get(lang, "err.value")
			continue
		}
		roles = append(roles, role)
	}
	clearance, err := access.ParseLevel(f["clearance"])
	if err != nil {
		errs["clearance"] = w.msgs.get(lang, "err.required")
	}
	comps := splitList(f["compartments"])
	for k, v := range f {
		if !utf8.ValidString(v) {
			errs[k] = w.msgs.get(lang, "err.value")
		}
	}
	return roles, clearance, comps
}

// userCreate creates an account.
func (w *Web) userCreate(c *gin.Context) {
	if !w.isAdmin(c) {
		return
	}
	lang := c.GetString(ctxLang)
	f := userForm(c)
	errs := map[string]string{}
	roles, clearance, comps := w.parseAccess(f, lang, errs)
	if strings.TrimSpace(f["username"]) == "" {
		errs["username"] = w.msgs.get(lang, "err.required")
	}
	if f["password"] == "" {
		errs["password"] = w.msgs.get(lang, "err.required")
	}
	if len(errs) == 0 {
		u, err := w.users.CreateUser(c.Request.Context(), actor(c), NewUser{
			Username: strings.TrimSpace(f["username"]), Password: f["password"], DisplayName: strings.TrimSpace(f["display_name"]),
			Roles: roles, Clearance: clearance, Compartments: comps, OrgUnit: strings.TrimSpace(f["org_unit"]),
		})
		if err == nil {
			c.Redirect(http.StatusSeeOther, w.path("/users/"+u.ID)+"?ok=usercreated")
			return
		}
		if !w.userError(c, err, errs) {
			return
		}
	}
	f["password"] = ""
	w.render(c, http.StatusUnprocessableEntity, "user", w.userView(c, &userData{New: true, Form: f, Errors: errs}))
}

// userError puts a refused account change beside its fields, or answers
// with the error page (and returns false).
func (w *Web) userError(c *gin.Context, err error, errs map[string]string) bool {
	lang := c.GetString(ctxLang)
	switch {
	case len(fieldErrors(err)) > 0:
		addFieldErrors(errs, fieldErrors(err), lang)
	case errors.Is(err, ErrConflict):
		errs["username"] = w.msgs.get(lang, "user.err.conflict")
	case errors.Is(err, ErrForbidden):
		errs["clearance"] = w.msgs.get(lang, "user.err.forbidden")
	case errors.Is(err, ErrInvalid):
		errs["username"] = w.msgs.get(lang, "err.value")
	default:
		w.failErr(c, err)
		return false
	}
	return true
}

// findUser returns the account id among those the admin may manage.
func (w *Web) findUser(c *gin.Context, id string) (User, bool) {
	list, err := w.users.ListUsers(c.Request.Context(), actor(c))
	if err != nil {
		w.failErr(c, err)
		return User{}, false
	}
	for _, u := range list {
		if u.ID == id {
			return u, true
		}
	}
	w.fail(c, http.StatusNotFound, "err.usernotfound")
	return User{}, false
}

func accountForm(u User) metaForm {
	f := metaForm{"display_name": u.DisplayName, "clearance": u.Clearance.String(), "org_unit": u.OrgUnit,
		"compartments": strings.Join(u.Compartments, "\n")}
	var roles []string
	for _, r := range u.Roles {
		roles = append(roles, r.String())
	}
	f["roles"] = strings.Join(roles, "\n")
	return f
}

// userEditPage shows an account with the form that changes it.
func (w *Web) userEditPage(c *gin.Context) {
	if !w.isAdmin(c) {
		return
	}
	u, ok := w.findUser(c, c.Param("id"))
	if !ok {
		return
	}
	w.render(c, http.StatusOK, "user", w.userView(c, &userData{Account: u, Form: accountForm(u), Self: u.ID == user(c).ID}))
}

// userUpdate changes roles, clearance, compartments, name, unit and,
// when one is given, the password.
func (w *Web) userUpdate(c *gin.Context) {
	if !w.isAdmin(c) {
		return
	}
	u, ok := w.findUser(c, c.Param("id"))
	if !ok {
		return
	}
	lang := c.GetString(ctxLang)
	f := userForm(c)
	errs := map[string]string{}
	roles, clearance, comps := w.parseAccess(f, lang, errs)
	if len(errs) == 0 {
		name, unit := strings.TrimSpace(f["display_name"]), strings.TrimSpace(f["org_unit"])
		ch := UserChange{DisplayName: &name, OrgUnit: &unit, Roles: &roles, Clearance: &clearance, Compartments: &comps}
		if f["password"] != "" {
			pw := f["password"]
			ch.Password = &pw
		}
		_, err := w.users.UpdateUser(c.Request.Context(), actor(c), u.ID, ch)
		if err == nil {
			c.Redirect(http.StatusSeeOther, w.path("/users/"+u.ID)+"?ok=usersaved")
			return
		}
		if !w.userError(c, err, errs) {
			return
		}
	}
	f["password"] = ""
	w.render(c, http.StatusUnprocessableEntity, "user", w.userView(c, &userData{Account: u, Form: f, Errors: errs, Self: u.ID == user(c).ID}))
}

func (w *Web) setDisabled(c *gin.Context, disabled bool, okKey string) {
	if !w.isAdmin(c) {
		return
	}
	id := c.Param("id")
	if len(id) > 128 {
		w.fail(c, http.StatusNotFound, "err.usernotfound")
		return
	}
	if _, err := w.users.UpdateUser(c.Request.Context(), actor(c), id, UserChange{Disabled: &disabled}); err != nil {
		if errors.Is(err, ErrNotFound) {
			w.fail(c, http.StatusNotFound, "err.usernotfound")
			return
		}
		w.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, w.path("/users/"+id)+"?ok="+okKey)
}

// userDisable disables an account; its sessions end at once.
func (w *Web) userDisable(c *gin.Context) { w.setDisabled(c, true, "userdisabled") }

// userEnable enables a disabled account again.
func (w *Web) userEnable(c *gin.Context) { w.setDisabled(c, false, "userenabled") }
