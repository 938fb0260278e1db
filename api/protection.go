package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"khomat/archive"
)

// extensionRequest is the body of POST /documents/{id}/protection.
type extensionRequest struct {
	Years       int    `json:"years"`
	Reason      string `json:"reason"`
	DecisionRef string `json:"decision_ref"`
}

// extendProtection extends a classified document's protection period by a
// number of years, on a security officer's decision, while the period
// still runs. Invalid input, and a period that has ended, answer 422 with
// the field concerned.
func (s *Server) extendProtection(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	var req extensionRequest
	if !decodeJSON(c, &req) {
		return
	}
	doc, err := s.docs.ExtendProtection(c.Request.Context(), s.actor(c), id, archive.Extension{
		Years: req.Years, Reason: req.Reason, DecisionRef: req.DecisionRef,
	})
	var fes archive.FieldErrors
	if errors.Is(err, archive.ErrForbidden) && errors.As(err, &fes) {
		// Refused by the policy (the period has ended) but answered as
		// invalid input, naming the field: still a denial.
		s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
	}
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}
