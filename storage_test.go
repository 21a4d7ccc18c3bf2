package logto

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStorage(t *testing.T) {
	ctx := context.Background()
	var s MemoryStorage // the zero value is ready
	v, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "", v)
	require.NoError(t, s.Set(ctx, "k", "v"))
	v, _ = s.Get(ctx, "k")
	assert.Equal(t, "v", v)
	require.NoError(t, s.Delete(ctx, "k"))
	require.NoError(t, s.Delete(ctx, "missing"))
	assert.Equal(t, 0, s.Len())
}

func TestMemoryStorageConcurrent(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStorage()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := fmt.Sprint("k", i)
			for j := 0; j < 100; j++ {
				_ = s.Set(ctx, k, fmt.Sprint(j))
				_, _ = s.Get(ctx, k)
			}
		}(i)
	}
	wg.Wait()
	assert.Equal(t, 16, s.Len())
	v, _ := s.Get(ctx, "k3")
	assert.Equal(t, "99", v)
}

func TestScopesAndResources(t *testing.T) {
	tests := []struct {
		name         string
		scopes, res  []string
		wantS, wantR []string
	}{
		{"nothing", nil, nil, []string{"openid", "offline_access", "profile"}, []string{}},
		{"duplicates and empties", []string{"email", "", "email", "profile"}, []string{"https://a", "https://a", ""}, []string{"email", "profile", "openid", "offline_access"}, []string{"https://a"}},
		{"organizations", []string{ScopeOrganizations}, []string{"https://a"}, []string{ScopeOrganizations, "openid", "offline_access", "profile"}, []string{"https://a", ResourceOrganizations}},
		{"organizations resource already listed", []string{ScopeOrganizations}, []string{ResourceOrganizations}, []string{ScopeOrganizations, "openid", "offline_access", "profile"}, []string{ResourceOrganizations}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mergeScopes(tt.scopes)
			assert.Equal(t, tt.wantS, s)
			assert.Equal(t, tt.wantR, mergeResources(tt.res, s))
		})
	}
	assert.Equal(t, "urn:logto:organization:org-1", OrganizationURNPrefix+"org-1")
}
