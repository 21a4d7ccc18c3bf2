package tenant

import "time"

// newTenant is the one place the tests build a Tenant.
func newTenant(p *provider, cooldown time.Duration, now func() time.Time) (*Tenant, error) {
	return New(Config{Endpoint: p.URL, HTTPClient: p.Client(), Cooldown: cooldown, Now: now})
}
