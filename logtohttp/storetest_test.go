package logtohttp_test

import (
	"testing"

	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtohttp/storetest"
)

// TestMemoryStoreConformance runs the store conformance table against the
// memory store.
func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Config{Store: logtohttp.NewMemorySessionStore(0, 1000)})
}
