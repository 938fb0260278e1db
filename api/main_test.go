package api_test

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	// Gin's mode is its own global; release mode keeps its route dump out
	// of the test output. cmd/khomat sets the same.
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}
