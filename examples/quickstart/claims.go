package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gologto/logto"
)

// dateLayout shows the user info's times (epoch milliseconds in Logto's
// answer) to a person.
const dateLayout = "2 Jan 2006 15:04:05 UTC"

// row is one claim as the user info page shows it.
type row struct {
	Key, Label, Value string
}

// claimLabels are the labels of the claims Logto documents, in the order
// the page lists them; other claims follow, by name.
var claimLabels = []struct{ key, label string }{
	{"sub", "User ID"},
	{"name", "Name"},
	{"username", "Username"},
	{"preferred_username", "Preferred username"},
	{"given_name", "Given name"},
	{"middle_name", "Middle name"},
	{"family_name", "Family name"},
	{"nickname", "Nickname"},
	{"email", "Email"},
	{"email_verified", "Email verified"},
	{"phone_number", "Phone number"},
	{"phone_number_verified", "Phone number verified"},
	{"picture", "Picture"},
	{"profile", "Profile"},
	{"website", "Website"},
	{"gender", "Gender"},
	{"birthdate", "Birth date"},
	{"zoneinfo", "Time zone"},
	{"locale", "Locale"},
	{"address", "Address"},
	{"roles", "Roles"},
	{"organizations", "Organizations"},
	{"organization_roles", "Organization roles"},
	{"custom_data", "Custom data"},
	{"identities", "Social identities"},
	{"sso_identities", "Enterprise SSO identities"},
	{"created_at", "Created"},
	{"updated_at", "Updated"},
}

// hiddenClaims are shown through other rows: organization_data gives the
// names of the organizations row.
var hiddenClaims = []string{"organization_data"}

// claimRows turns the user info into rows a person can read: times as
// dates, lists joined, organizations by name, absent values as "none".
func claimRows(all map[string]any, orgNames map[string]string) []row {
	rows := make([]row, 0, len(all))
	seen := map[string]bool{}
	for _, c := range claimLabels {
		if v, ok := all[c.key]; ok {
			rows = append(rows, row{Key: c.key, Label: c.label, Value: formatClaim(c.key, v, orgNames)})
			seen[c.key] = true
		}
	}
	var rest []string
	for k := range all {
		if !seen[k] && !slices.Contains(hiddenClaims, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		rows = append(rows, row{Key: k, Label: k, Value: formatClaim(k, all[k], orgNames)})
	}
	return rows
}

// formatClaim renders one claim value.
func formatClaim(key string, v any, orgNames map[string]string) string {
	switch key {
	case "created_at", "updated_at":
		if ms, ok := v.(float64); ok {
			return time.UnixMilli(int64(ms)).UTC().Format(dateLayout)
		}
	case "organizations":
		if ids, ok := stringList(v); ok {
			return joinOrNone(mapEach(ids, func(id string) string { return orgLabel(orgNames, id) }))
		}
	case "organization_roles":
		if pairs, ok := stringList(v); ok {
			return joinOrNone(mapEach(pairs, func(p string) string {
				org, role, found := strings.Cut(p, ":")
				if !found {
					return p
				}
				return orgLabel(orgNames, org) + ": " + role
			}))
		}
	}
	switch v := v.(type) {
	case nil:
		return "none"
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case string:
		if v == "" {
			return "none"
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		if s, ok := stringList(v); ok {
			return joinOrNone(s)
		}
	case map[string]any:
		if len(v) == 0 {
			return "none"
		}
		if flat, ok := flatObject(v); ok {
			return flat
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// stringList returns v as a list of strings, if it is one.
func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// flatObject renders an object of strings, numbers and booleans as
// "key: value, …" sorted by key, if it is one.
func flatObject(m map[string]any) (string, bool) {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		switch v := m[k].(type) {
		case string, float64, bool:
			parts = append(parts, k+": "+formatClaim(k, v, nil))
		default:
			return "", false
		}
	}
	return strings.Join(parts, ", "), true
}

func mapEach(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// organizationNames maps organization ids to names, from the user info's
// organization_data (urn:logto:scope:organizations). It is empty when Logto
// sent no names.
func organizationNames(info logto.UserInfo) map[string]string {
	names := map[string]string{}
	for _, o := range info.OrganizationData.Get() {
		if o.Name != "" {
			names[o.ID] = o.Name
		}
	}
	return names
}

// orgLabel is "Name (id)", or the id alone when the name is unknown.
func orgLabel(names map[string]string, id string) string {
	if name := names[id]; name != "" {
		return name + " (" + id + ")"
	}
	return id
}

// organizationRoles groups the organization_roles claim ("<org>:<role>")
// by organization.
func organizationRoles(pairs []string) map[string][]string {
	roles := map[string][]string{}
	for _, p := range pairs {
		if org, role, ok := strings.Cut(p, ":"); ok {
			roles[org] = append(roles[org], role)
		}
	}
	return roles
}

// organization is one organization as its page shows it.
type organization struct {
	ID          string
	Name        string // "" when Logto sent no name
	Roles       []string
	Permissions []string // scopes of the organization token
}
