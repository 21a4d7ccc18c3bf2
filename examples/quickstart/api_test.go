package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/examples/internal/demoapi"
)

// protectedAPI is the API of examples/api, as the quickstart starts it.
func protectedAPI(t *testing.T, endpoint string) http.Handler {
	t.Helper()
	h, err := demoapi.New(apiauth.Config{Endpoint: endpoint, Audience: demoAPI, AcceptOrganizationTokens: true})
	require.NoError(t, err)
	return h
}
