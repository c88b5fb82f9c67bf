package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"

	"dalil/geo"
	"dalil/registry"
)

// SpreadOverMina moves a small demo registry's pilgrims out of the first
// camps by the Jamarat and over all of Mina, the way a Hajj day looks: each
// guide group gets a camp of its own, the camps taken at even steps through
// the layout so that every part of Mina has groups, and within its camp the
// group's men and women fill separate tents. A registry the size of a real
// contingent fills Mina anyway; this is for a demo of a few thousand, which
// the registry generator packs into camps 1–2 (its tents filled in layout
// order). Pilgrims without a group and groups beyond the camps keep their
// tents. ps is changed in place; seed fixes the order of the camps.
func SpreadOverMina(l *geo.Layout, ps []registry.Pilgrim, seed int64) {
	if l == nil || len(ps) == 0 {
		return
	}
	var camps []*geo.Camp
	for i := range l.Camps {
		if l.Camps[i].Site == geo.SiteMina && len(l.TentsOf(l.Camps[i].ID)) >= 2 {
			camps = append(camps, &l.Camps[i])
		}
	}
	if len(camps) == 0 {
		return
	}
	byGroup := map[string][]int{}
	var groups []string
	for i := range ps {
		g := ps[i].Group
		if g == "" {
			continue
		}
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	slices.Sort(groups)
	// Every group to its own camp, evenly over Mina; with more groups than
	// camps, they share, still evenly.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d696e61))
	offset := rng.IntN(len(camps))
	for gi, g := range groups {
		step := (offset + gi) % len(camps)
		if len(groups) <= len(camps) {
			step = (offset + gi*len(camps)/len(groups)) % len(camps)
		}
		camp := camps[step]
		fillCamp(l, camp, ps, byGroup[g])
	}
}

// fillCamp puts members into camp's tents: men from the first tent on,
// women from the last tent back, each tent to its capacity (a full camp
// takes the rest into its last tents, over capacity, rather than splitting
// the group).
func fillCamp(l *geo.Layout, camp *geo.Camp, ps []registry.Pilgrim, members []int) {
	tents := slices.Clone(l.TentsOf(camp.ID))
	slices.SortFunc(tents, func(a, b *geo.Tent) int { return cmp.Compare(a.Number, b.Number) })
	men, women := 0, len(tents)-1
	used := map[string]int{}
	for _, i := range members {
		p := &ps[i]
		var t *geo.Tent
		if p.Gender == "F" {
			for women > men && used[tents[women].ID] >= max(tents[women].Capacity, 1) {
				women--
			}
			t = tents[women]
		} else {
			for men < women && used[tents[men].ID] >= max(tents[men].Capacity, 1) {
				men++
			}
			t = tents[men]
		}
		used[t.ID]++
		p.Camp, p.Tent = camp.ID, t.ID
	}
}

// DemoIncidents are what SeedIncidents put on the helpdesk's desk.
type DemoIncidents struct {
	Cases    []string // lost-pilgrim case IDs
	LostBags []string // tags of bags reported lost
	Found    []string // found items waiting for their owner
}

// SeedIncidents gives a demo helpdesk something to work on from its first
// minute: a few pilgrims reported lost by their guides (the case locator
// finds them as their positions arrive), a few bags reported lost, and a
// found item at a desk that matches one of them. It goes through the API
// handler h with an operator's token, as a desk would, so the audit log and
// the live feed see it all. ps is the registry; seed picks the pilgrims.
func SeedIncidents(ctx context.Context, h http.Handler, token string, ps []registry.Pilgrim, seed int64) (DemoIncidents, error) {
	var out DemoIncidents
	if len(ps) == 0 {
		return out, nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x64657368))
	call := func(method, path string, body, ans any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			return fmt.Errorf("%s %s: %d %s", method, path, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
		}
		if ans != nil {
			return json.Unmarshal(rec.Body.Bytes(), ans)
		}
		return nil
	}
	places := []string{"near the Jamarat bridge, level 1", "King Fahd Road by the Mina hospital", "street 204 by the toilets", "the Khayf mosque gate"}
	pick := func() registry.Pilgrim { return ps[rng.IntN(len(ps))] }
	for i := range 4 {
		p := pick()
		var c struct {
			ID string `json:"id"`
		}
		if err := call(http.MethodPost, "/v1/cases", map[string]string{
			"kind": "lost_pilgrim", "pilgrim": p.PID, "reported_by": "guide of group " + p.Group,
			"last_seen_place": places[i%len(places)], "note": "separated from the group on the way back from the Jamarat (demo)",
		}, &c); err != nil {
			return out, err
		}
		out.Cases = append(out.Cases, c.ID)
	}
	colours := []string{"green suitcase with a red ribbon", "black trolley bag, Biman tag", "blue canvas bag with white stripes"}
	for i, colour := range colours {
		p := pick()
		tag := fmt.Sprintf("DEMO%05d", rng.IntN(100000))
		if err := call(http.MethodPost, "/v1/luggage", map[string]string{"tag": tag, "owner": p.PID, "description": colour}, nil); err != nil {
			return out, err
		}
		if err := call(http.MethodPost, "/v1/luggage/"+tag+"/lost", map[string]string{"place": places[(i+1)%len(places)], "note": "demo"}, nil); err != nil {
			return out, err
		}
		out.LostBags = append(out.LostBags, tag)
		if i == 0 { // someone handed in the first one at a desk, tag still on
			var f struct {
				Found struct {
					ID string `json:"id"`
				} `json:"found"`
			}
			if err := call(http.MethodPost, "/v1/found-items", map[string]string{"where": "helpdesk 2, camp 30", "description": colour, "tag": tag, "found_by": "scout (demo)"}, &f); err != nil {
				return out, err
			}
			out.Found = append(out.Found, f.Found.ID)
		}
	}
	return out, nil
}
