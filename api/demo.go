package api

import (
	"context"
	"fmt"
	"time"
)

// DemoToken is a sign-in token `dalil serve --demo` prints for a person to
// try the console as one role.
type DemoToken struct {
	Role    Role
	Subject string
	Token   string
}

// DemoTokens mints fresh tokens for an operator, the guide of the first group
// and a pilgrim of that group. They replace the previous start's demo tokens
// (fixed IDs), so demo restarts do not pile up tokens.
func (s *Server) DemoTokens(ctx context.Context) ([]DemoToken, error) {
	out := []DemoToken{{Role: RoleOperator, Subject: ""}}
	gs := s.registry.Groups()
	if len(gs) > 0 {
		g := gs[0]
		out = append(out, DemoToken{Role: RoleGuide, Subject: g.ID})
		for _, m := range s.registry.Members(g.ID) {
			if m.PID != g.GuidePID {
				out = append(out, DemoToken{Role: RolePilgrim, Subject: m.PID})
				break
			}
		}
	}
	for i := range out {
		t := &out[i]
		t.Token = tokenPrefix + randomString(24)
		ti := TokenInfo{
			ID: "tok_demo_" + string(t.Role), Role: t.Role, Subject: t.Subject,
			Created: time.Now().UTC(), CreatedBy: "demo",
		}
		if err := s.tokens.put(ctx, ti, t.Token); err != nil {
			return nil, fmt.Errorf("demo %s token: %w", t.Role, err)
		}
	}
	return out, nil
}
