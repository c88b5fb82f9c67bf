package helpdesk

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"dalil/registry"
)

// namePart is one part of a Bangladeshi name in English and Bangla script.
type namePart struct{ en, bn string }

var (
	maleFirst = []namePart{
		{"Md.", "মোঃ"}, {"Mohammad", "মোহাম্মদ"}, {"Muhammad", "মুহাম্মদ"}, {"Abdul", "আব্দুল"}, {"Abdur", "আব্দুর"},
		{"Abu", "আবু"}, {"Sheikh", "শেখ"}, {"Syed", "সৈয়দ"}, {"Mir", "মীর"}, {"Golam", "গোলাম"},
	}
	maleGiven = []namePart{
		{"Rahim", "রহিম"}, {"Karim", "করিম"}, {"Rahman", "রহমান"}, {"Hossain", "হোসেন"}, {"Kamal", "কামাল"},
		{"Jamal", "জামাল"}, {"Habib", "হাবিব"}, {"Nazrul", "নজরুল"}, {"Rafiq", "রফিক"}, {"Shafiq", "শফিক"},
		{"Mizanur", "মিজানুর"}, {"Anwar", "আনোয়ার"}, {"Alamgir", "আলমগীর"}, {"Jalal", "জালাল"}, {"Sirajul", "সিরাজুল"},
		{"Mostafa", "মোস্তফা"}, {"Harun", "হারুন"}, {"Delwar", "দেলোয়ার"}, {"Monir", "মনির"}, {"Shahid", "শহীদ"},
		{"Zahid", "জাহিদ"}, {"Faruk", "ফারুক"}, {"Yusuf", "ইউসুফ"}, {"Ibrahim", "ইব্রাহিম"}, {"Ismail", "ইসমাইল"},
		{"Kabir", "কবির"}, {"Latif", "লতিফ"}, {"Aziz", "আজিজ"}, {"Mannan", "মান্নান"}, {"Jabbar", "জব্বার"},
		{"Sattar", "সাত্তার"}, {"Khaleque", "খালেক"}, {"Motaleb", "মোতালেব"}, {"Bashir", "বশির"}, {"Nurul", "নুরুল"},
		{"Aminul", "আমিনুল"}, {"Shamsul", "শামসুল"}, {"Ruhul", "রুহুল"}, {"Mahbub", "মাহবুব"}, {"Tofazzal", "তোফাজ্জল"},
	}
	maleLast = []namePart{
		{"Islam", "ইসলাম"}, {"Uddin", "উদ্দিন"}, {"Ahmed", "আহমেদ"}, {"Mia", "মিয়া"}, {"Hossain", "হোসেন"},
		{"Chowdhury", "চৌধুরী"}, {"Sarkar", "সরকার"}, {"Talukder", "তালুকদার"}, {"Bhuiyan", "ভূঁইয়া"}, {"Molla", "মোল্লা"},
		{"Khan", "খান"}, {"Ali", "আলী"}, {"Alam", "আলম"}, {"Haque", "হক"}, {"Rahman", "রহমান"}, {"Sheikh", "শেখ"},
		{"Mondal", "মন্ডল"}, {"Pramanik", "প্রামানিক"}, {"Howlader", "হাওলাদার"}, {"Patwary", "পাটোয়ারী"},
	}
	femaleFirst = []namePart{
		{"Mst.", "মোছাঃ"}, {"Mosammat", "মোসাম্মৎ"}, {"Begum", "বেগম"}, {"Syeda", "সৈয়দা"},
	}
	femaleGiven = []namePart{
		{"Fatema", "ফাতেমা"}, {"Ayesha", "আয়েশা"}, {"Rahima", "রহিমা"}, {"Karima", "করিমা"}, {"Nurjahan", "নূরজাহান"},
		{"Jahanara", "জাহানারা"}, {"Rokeya", "রোকেয়া"}, {"Hasina", "হাসিনা"}, {"Sufia", "সুফিয়া"}, {"Rashida", "রাশিদা"},
		{"Amena", "আমেনা"}, {"Jamila", "জামিলা"}, {"Halima", "হালিমা"}, {"Khadija", "খাদিজা"}, {"Salma", "সালমা"},
		{"Nasima", "নাসিমা"}, {"Shirin", "শিরিন"}, {"Parvin", "পারভীন"}, {"Monowara", "মনোয়ারা"}, {"Anowara", "আনোয়ারা"},
	}
	femaleLast = []namePart{
		{"Begum", "বেগম"}, {"Khatun", "খাতুন"}, {"Akter", "আক্তার"}, {"Bibi", "বিবি"}, {"Nesa", "নেসা"}, {"Islam", "ইসলাম"},
	}
)

func pickPart(r *rand.Rand, parts []namePart) namePart { return parts[r.IntN(len(parts))] }

// genSearchPilgrims makes n pilgrims with realistic Bangladeshi names,
// identifiers and phones, deterministically from seed.
func genSearchPilgrims(n int, seed uint64) []registry.Pilgrim {
	r := rand.New(rand.NewPCG(seed, 7))
	ps := make([]registry.Pilgrim, n)
	for i := range ps {
		var parts []namePart
		gender := "M"
		if r.IntN(2) == 0 {
			if r.IntN(3) > 0 {
				parts = append(parts, pickPart(r, maleFirst))
			}
			parts = append(parts, pickPart(r, maleGiven))
			parts = append(parts, pickPart(r, maleLast))
		} else {
			gender = "F"
			if r.IntN(2) == 0 {
				parts = append(parts, pickPart(r, femaleFirst))
			}
			parts = append(parts, pickPart(r, femaleGiven))
			parts = append(parts, pickPart(r, femaleLast))
		}
		var en, bn string
		for j, p := range parts {
			if j > 0 {
				en += " "
				bn += " "
			}
			en += p.en
			bn += p.bn
		}
		g := i / 44
		ps[i] = registry.Pilgrim{
			PID:        fmt.Sprintf("P%08d", i+1),
			TrackingNo: fmt.Sprintf("T%010d", 3_000_000_000+uint64(i)*7919%1_000_000_000),
			Passport:   fmt.Sprintf("A%c%07d", 'A'+rune(i%26), i),
			NameEN:     en,
			NameBN:     bn,
			Gender:     gender,
			Phone:      fmt.Sprintf("+8801%d%08d", 3+i%7, i),
			Agency:     fmt.Sprintf("AG%04d", g/5),
			Group:      fmt.Sprintf("G%05d", g),
			Camp:       fmt.Sprintf("mina-%03d", g%120+1),
			Tent:       fmt.Sprintf("mina-%03d/%d", g%120+1, i%40+1),
		}
	}
	return ps
}

// mapSource is a SearchSource over a slice, for tests and benchmarks.
type mapSource struct {
	mu    sync.RWMutex
	list  []string
	byPID map[string]registry.Pilgrim
}

func newMapSource(ps []registry.Pilgrim) *mapSource {
	s := &mapSource{byPID: make(map[string]registry.Pilgrim, len(ps))}
	for _, p := range ps {
		s.put(p)
	}
	return s
}

func (s *mapSource) put(p registry.Pilgrim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byPID[p.PID]; !ok {
		s.list = append(s.list, p.PID)
	}
	s.byPID[p.PID] = p
}

func (s *mapSource) Pilgrim(pid string) (registry.Pilgrim, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.byPID[pid]
	return p, ok
}

func (s *mapSource) Each(fn func(registry.Pilgrim) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, pid := range s.list {
		if p, ok := s.byPID[pid]; ok && !fn(p) {
			return
		}
	}
}

func (s *mapSource) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byPID)
}
