package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gologto/logto/internal/httpx"
)

// get fetches and parses the key set, and says how long to hold it.
func (k *KeySet) get(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.cfg.URL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.cfg.Client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, k.cfg.MaxBody)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetch JWKS: unexpected HTTP status %d", resp.StatusCode)
	}
	keys, err := Parse(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, Lifetime(resp.Header, k.cfg.MaxAge), nil
}

// Parse decodes a JWKS document, keeping the public signing keys it can
// use and skipping malformed or unsupported ones. A document with no usable
// key is an error.
func Parse(body []byte) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make([]jose.JSONWebKey, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() {
			continue
		}
		if !key.IsPublic() {
			key = key.Public()
			if !key.Valid() {
				continue
			}
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("decode JWKS: no usable key")
	}
	return keys, nil
}
