package registry

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"dalil"
	"dalil/geo"
)

// DefaultDemoPilgrims is the size of the demo registry: Bangladesh's 2024
// contingent (85,225 pilgrims).
const DefaultDemoPilgrims = 85_000

// demoHajjYear fixes ages to a season so that the registry does not depend
// on the clock.
const demoHajjYear = 2025

// demoGuideGroupSize is Bangladesh's ratio: 1,899 guides for 85,225 pilgrims.
const demoGuideGroupSize = 44

// GenerateRegistry builds a realistic demo registry of n pilgrims,
// deterministic for a seed:
//   - households: married couples (each the other's mahram), men alone,
//     mothers with a son and fathers with a daughter as mahram, and some
//     women over 45 travelling with their agency;
//   - agencies of 100–300 pilgrims (whole households), each split into guide
//     groups of ~44 led by a guide who is a pilgrim of that group;
//   - names in Bangla script and English, the English with the common
//     transliterations (Mohammad/Muhammad/Md., Hossain/Hossen, …);
//   - Bangladeshi mobile numbers (+8801…), passports, PIDs and pre-registration
//     tracking numbers;
//   - Mina tents filled to capacity in layout order, men and women in separate
//     tents, each agency kept together; pilgrims beyond Mina's capacity get no
//     camp or tent;
//   - every pilgrim has a phone, a wristband, or both. Device ids are drawn
//     at random (see phoneID and wristbandID), never in sequence: on OsmAnd
//     and OwnTracks without device tokens the id is the only credential,
//     so knowing one id must not reveal the next.
//
// l may be nil (no camps or tents are assigned then).
func GenerateRegistry(l *geo.Layout, n int, seed int64) ([]Pilgrim, []Group) {
	if n <= 0 {
		return nil, nil
	}
	g := &registryGen{rng: rand.New(rand.NewPCG(uint64(seed), 0x7265676973747279)), tents: minaTents(l),
		deviceIDs: make(map[string]struct{}, n*3/2)}
	g.households(n)
	g.agencies()
	return g.pilgrims, g.groups
}

type registryGen struct {
	rng      *rand.Rand
	pilgrims []Pilgrim
	groups   []Group
	hhStart  []int // index of each household's first pilgrim

	tents      []*geo.Tent
	nextTent   int
	tentFree   [2]int       // free places in the current men's [0] / women's [1] tent
	tentCur    [2]*geo.Tent // current men's / women's tent
	agencySeq  int
	licenseOff int
	pidOff     int
	deviceIDs  map[string]struct{} // ids handed out, to keep them unique
}

func minaTents(l *geo.Layout) []*geo.Tent {
	if l == nil {
		return nil
	}
	mina := make(map[string]bool)
	for i := range l.Camps {
		if l.Camps[i].Site == geo.SiteMina {
			mina[l.Camps[i].ID] = true
		}
	}
	var ts []*geo.Tent
	for i := range l.Tents {
		if mina[l.Tents[i].Camp] && l.Tents[i].Capacity > 0 {
			ts = append(ts, &l.Tents[i])
		}
	}
	return ts
}

func (g *registryGen) pick(n int) int { return g.rng.IntN(n) }

func (g *registryGen) chance(p float64) bool { return g.rng.Float64() < p }

// households creates n pilgrims household by household.
func (g *registryGen) households(n int) {
	g.pilgrims = make([]Pilgrim, 0, n)
	for len(g.pilgrims) < n {
		g.hhStart = append(g.hhStart, len(g.pilgrims))
		room := n - len(g.pilgrims)
		r := g.rng.Float64()
		switch {
		case r < 0.50 && room >= 2: // married couple
			age := 40 + g.pick(36)
			h := g.person("M", age)
			w := g.person("F", max(age-2-g.pick(8), 30))
			g.pair(h, w)
		case r < 0.60 && room >= 2: // mother with her son as mahram
			m := g.person("F", 55+g.pick(30))
			s := g.person("M", 25+g.pick(25))
			g.pair(s, m)
		case r < 0.65 && room >= 2: // father with his daughter
			f := g.person("M", 55+g.pick(25))
			d := g.person("F", 20+g.pick(25))
			g.pair(f, d)
		case r < 0.72: // woman over 45 with her agency (allowed without a mahram since 2021)
			g.pilgrims = append(g.pilgrims, g.person("F", 45+g.pick(30)))
		default: // man on his own
			g.pilgrims = append(g.pilgrims, g.person("M", 30+g.pick(50)))
		}
	}
	g.pidOff = g.pick(9_000_000)
	for i := range g.pilgrims {
		g.identify(i)
	}
	// Mahram links need the PIDs: households of two are each other's mahram.
	for h, start := range g.hhStart {
		end := len(g.pilgrims)
		if h+1 < len(g.hhStart) {
			end = g.hhStart[h+1]
		}
		if end-start == 2 {
			a, b := &g.pilgrims[start], &g.pilgrims[start+1]
			a.MahramPID, b.MahramPID = b.PID, a.PID
		}
	}
}

func (g *registryGen) pair(a, b Pilgrim) { g.pilgrims = append(g.pilgrims, a, b) }

func (g *registryGen) form(fs []nameForms) (string, string) {
	f := fs[g.pick(len(fs))]
	return f.bn, f.en[g.pick(len(f.en))]
}

// person makes a pilgrim's name, gender and age; identify adds the rest.
func (g *registryGen) person(gender string, age int) Pilgrim {
	var bn, en []string
	add := func(b, e string) { bn, en = append(bn, b), append(en, e) }
	if gender == "M" {
		if g.chance(0.7) {
			add(g.form(maleNamePrefix))
		}
		add(g.form(maleGivenNames))
		if g.chance(0.6) {
			add(g.form(maleSurnames))
		}
	} else {
		if g.chance(0.35) {
			add(g.form(femaleNamePrefix))
		}
		add(g.form(femaleGivenNames))
		add(g.form(femaleSurnames))
	}
	return Pilgrim{NameBN: strings.Join(bn, " "), NameEN: strings.Join(en, " "), Gender: gender,
		BirthYear: demoHajjYear - age, Nationality: "BD"}
}

// permute maps i to a unique number in [0, mod) that does not look sequential:
// mult must be coprime with mod.
func permute(i, mult, off, mod int) int { return (i*mult + off) % mod }

func (g *registryGen) identify(i int) {
	p := &g.pilgrims[i]
	p.PID = fmt.Sprintf("BD%07d", 1_000_000+permute(i, 7919, g.pidOff, 9_000_000))
	p.TrackingNo = fmt.Sprintf("N%08d", 10_000_000+permute(i, 104_729, 12_345, 90_000_000))
	p.Passport = fmt.Sprintf("A%08d", 10_000_000+permute(i, 15_485_863, 777_777, 90_000_000))
	p.Phone = "+8801" + mobilePrefixes[g.pick(len(mobilePrefixes))][1:] + fmt.Sprintf("%08d", g.rng.IntN(100_000_000))
	age := demoHajjYear - p.BirthYear
	hasPhone := g.chance(0.88)
	if age >= 65 {
		hasPhone = g.chance(0.55)
	}
	hasBand := !hasPhone || g.chance(0.6)
	if hasPhone {
		p.Devices = append(p.Devices, g.uniqueDeviceID(g.phoneID))
		p.DeviceKinds = append(p.DeviceKinds, dalil.DevicePhone)
	} else {
		p.Phone = "" // no phone of their own
	}
	if hasBand {
		p.Devices = append(p.Devices, g.uniqueDeviceID(g.wristbandID))
		p.DeviceKinds = append(p.DeviceKinds, dalil.DeviceWristband)
	}
}

// agencies groups households into agencies of 100–300 and guide groups of
// ~44, and houses them.
func (g *registryGen) agencies() {
	g.licenseOff = g.pick(100_000)
	h := 0
	for h < len(g.hhStart) {
		target := 100 + g.pick(201)
		first := h
		size := 0
		for h < len(g.hhStart) && size < target {
			size += g.hhSize(h)
			h++
		}
		g.agency(first, h)
	}
}

func (g *registryGen) hhSize(h int) int {
	end := len(g.pilgrims)
	if h+1 < len(g.hhStart) {
		end = g.hhStart[h+1]
	}
	return end - g.hhStart[h]
}

// agency builds one agency from households [h0, h1).
func (g *registryGen) agency(h0, h1 int) {
	seq := g.agencySeq
	g.agencySeq++
	license := (seq*37 + g.licenseOff) % 100_000
	name := fmt.Sprintf("%s %s (HL-%05d)", agencyNameStems[g.pick(len(agencyNameStems))],
		agencyNameKinds[g.pick(len(agencyNameKinds))], license)
	start := g.hhStart[h0]
	end := len(g.pilgrims)
	if h1 < len(g.hhStart) {
		end = g.hhStart[h1]
	}
	size := end - start
	k := max(1, (size+demoGuideGroupSize/2)/demoGuideGroupSize)
	// Split at household boundaries into k groups of about size/k.
	h := h0
	for gi := 0; gi < k && h < h1; gi++ {
		gStart := g.hhStart[h]
		want := start + (gi+1)*size/k
		for h < h1 && (g.hhStart[h] < want || gi == k-1) {
			h++
		}
		gEnd := end
		if h < h1 {
			gEnd = g.hhStart[h]
		}
		if gEnd <= gStart {
			continue
		}
		g.guideGroup(fmt.Sprintf("HL%05d-G%02d", license, gi+1), name, gi+1, g.pilgrims[gStart:gEnd])
	}
	for i := start; i < end; i++ {
		g.house(&g.pilgrims[i])
	}
}

func (g *registryGen) guideGroup(id, agency string, num int, members []Pilgrim) {
	// The guide is a man of working age from the group, else its first member.
	guide := 0
	for i := range members {
		age := demoHajjYear - members[i].BirthYear
		if members[i].Gender == "M" && age <= 60 {
			guide = i
			break
		}
	}
	gp := members[guide].PID
	for i := range members {
		members[i].Agency, members[i].Group, members[i].GuidePID = agency, id, gp
	}
	g.groups = append(g.groups, Group{ID: id, Agency: agency, GuidePID: gp, Name: fmt.Sprintf("%s, group %d", agency, num)})
}

// house puts a pilgrim in the current tent for their gender, opening the
// next tent of the layout when it is full.
func (g *registryGen) house(p *Pilgrim) {
	s := 0
	if p.Gender == "F" {
		s = 1
	}
	if g.tentFree[s] == 0 {
		if g.nextTent >= len(g.tents) {
			return // Mina is full
		}
		g.tentCur[s] = g.tents[g.nextTent]
		g.tentFree[s] = g.tentCur[s].Capacity
		g.nextTent++
	}
	p.Camp, p.Tent = g.tentCur[s].Camp, g.tentCur[s].ID
	g.tentFree[s]--
}
