package logto

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// HandleCallback completes a sign-in from the URL Logto redirected the user
// to (the full URL, e.g. built from the request with the app's public base
// URL). In order it: finds the pending sign-in by state (constant-time,
// single use: the transaction is removed whatever happens next), checks
// that the URL matches its redirect URI (scheme, host, path), checks the
// RFC 9207 iss parameter, turns error/error_description into an
// *OAuthError (only once state and iss have matched: before that the URL
// may be anyone's, and the error is ErrSignInSessionNotFound alone), exchanges the code with PKCE, verifies the ID token
// (signature, iss, aud, azp, exp, iat, sub, nonce), and only then stores
// the tokens. On any error the session's tokens are left as they were.
func (c *LogtoClient) HandleCallback(ctx context.Context, callbackURL string) error {
	cb, err := url.Parse(callbackURL)
	if err != nil {
		return fmt.Errorf("logto: callback URL cannot be parsed: %w", errors.Unwrap(err))
	}
	query, err := url.ParseQuery(cb.RawQuery)
	if err != nil {
		return fmt.Errorf("logto: callback URL query cannot be parsed")
	}
	for _, k := range []string{"state", "code", "iss", "error"} {
		if len(query[k]) > 1 {
			return fmt.Errorf("logto: callback URL repeats the %q parameter", k)
		}
	}
	var callbackErr error
	if code := query.Get("error"); code != "" {
		callbackErr = &OAuthError{Code: code, Description: query.Get("error_description"), URI: query.Get("error_uri"), Endpoint: "callback"}
	}

	// Until a pending sign-in matches the state, nothing in the URL is
	// known to come from Logto: an error or error_description there may be
	// an attacker's text, so it is neither returned nor typed as an
	// *OAuthError.
	tx, err := c.takeTransaction(ctx, query.Get("state"))
	if err != nil {
		return err
	}
	if !sameEndpoint(cb, tx.RedirectURI) {
		return ErrRedirectURIMismatch
	}
	m, err := c.core.provider(ctx)
	if err != nil {
		return err
	}
	if iss, ok := query["iss"]; ok {
		if iss[0] != tx.Issuer || iss[0] != m.Issuer {
			return fmt.Errorf("%w: got %q", ErrIssuerMismatch, iss[0])
		}
	} else if m.IssParameterSupported {
		return fmt.Errorf("%w: iss parameter is missing", ErrIssuerMismatch)
	}
	if callbackErr != nil {
		return callbackErr
	}
	code := query.Get("code")
	if code == "" {
		return ErrMissingCode
	}

	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {tx.RedirectURI},
		"code_verifier": {tx.CodeVerifier},
	}
	tr, err := c.core.postToken(ctx, m, form)
	if err != nil {
		return wrapf(err, "exchange authorization code")
	}
	if tr.IDToken == "" {
		return fmt.Errorf("%w: token response has no id_token", ErrInvalidResponse)
	}
	claims, err := c.core.verifyIDToken(ctx, m, tr.IDToken, idTokenCheck{nonce: tx.Nonce})
	if err != nil {
		return err
	}
	c.core.claimsCache.put(tr.IDToken, &decodedClaims{raw: tr.IDToken, claims: claims})

	entries := map[string]cachedToken{"": c.core.newCachedToken(tr)}
	return c.storeSession(ctx, tr.IDToken, tr.RefreshToken, entries)
}

// takeTransaction finds the pending sign-in whose state equals state,
// removes it from storage and returns it.
func (c *LogtoClient) takeTransaction(ctx context.Context, state string) (transaction, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	txs, err := c.loadTransactions(ctx)
	if err != nil {
		return transaction{}, err
	}
	if state == "" {
		return transaction{}, fmt.Errorf("%w: the callback carries no state", ErrSignInSessionNotFound)
	}
	found := -1
	for i := range txs {
		if subtle.ConstantTimeCompare([]byte(txs[i].State), []byte(state)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return transaction{}, fmt.Errorf("%w: no pending sign-in has this state", ErrSignInSessionNotFound)
	}
	tx := txs[found]
	rest := append(txs[:found:found], txs[found+1:]...)
	if err := c.saveTransactions(ctx, c.core.liveTransactions(rest)); err != nil {
		return transaction{}, err
	}
	if len(c.core.liveTransactions([]transaction{tx})) == 0 {
		return transaction{}, fmt.Errorf("%w: the sign-in expired", ErrSignInSessionNotFound)
	}
	return tx, nil
}

// sameEndpoint compares scheme, host and path of cb with the redirect URI.
func sameEndpoint(cb *url.URL, redirectURI string) bool {
	r, err := url.Parse(redirectURI)
	if err != nil {
		return false
	}
	return strings.EqualFold(cb.Scheme, r.Scheme) && strings.EqualFold(cb.Host, r.Host) && cb.EscapedPath() == r.EscapedPath()
}

// storeSession replaces the session's tokens. The ID token is written
// last, since IsAuthenticated keys on it. If a write fails, the previous
// values are restored (best effort) and an ErrStorage error returned, so a
// sign-in never reports success with half its tokens stored.
func (c *LogtoClient) storeSession(ctx context.Context, idToken, refreshToken string, entries map[string]cachedToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := []string{StorageKeyRefreshToken, StorageKeyAccessTokens, StorageKeyIDToken}
	prev := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := c.storage.Get(ctx, k)
		if err != nil {
			return storageErr("read", k, err)
		}
		prev[k] = v
	}
	values := map[string]string{
		StorageKeyRefreshToken: refreshToken,
		StorageKeyAccessTokens: encodeTokens(entries),
		StorageKeyIDToken:      idToken,
	}
	for i, k := range keys {
		if err := c.put(ctx, k, values[k]); err != nil {
			for _, done := range keys[:i+1] {
				_ = c.put(ctx, done, prev[done])
			}
			return storageErr("write", k, err)
		}
	}
	return nil
}

// put writes value, or deletes the key when value is empty.
func (c *LogtoClient) put(ctx context.Context, key, value string) error {
	if value == "" {
		return c.storage.Delete(ctx, key)
	}
	return c.storage.Set(ctx, key, value)
}
