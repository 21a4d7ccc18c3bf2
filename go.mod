module github.com/gologto/logto

go 1.24.0

require (
	github.com/coreos/go-oidc/v3 v3.17.0
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/stretchr/testify v1.12.1
	golang.org/x/oauth2 v0.35.0
	golang.org/x/sync v0.19.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
