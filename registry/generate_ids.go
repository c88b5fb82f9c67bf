package registry

// Demo device ids. They are drawn from the generator's seeded source, so a
// registry is reproducible for a seed, but nothing about one id predicts
// another: the OsmAnd and OwnTracks protocols identify a device by its id
// alone (unless ingest requires device tokens), so sequential ids would let
// anyone move a pilgrim's position by guessing the neighbour's id.

// phoneIDPrefixes are reporting-body prefixes of real IMEIs ("35" and "86"
// cover most phones sold in Bangladesh and Saudi Arabia).
var phoneIDPrefixes = [...]string{"35", "86"}

// phoneID returns a 15-digit IMEI-like id: a two-digit reporting-body prefix,
// 12 random digits (10^12 per prefix, so 85,000 phones make a random guess
// right about once in 10 million tries) and a Luhn check digit, as a real
// IMEI has.
func (g *registryGen) phoneID() string {
	var b [15]byte
	copy(b[:], phoneIDPrefixes[g.pick(len(phoneIDPrefixes))])
	for i := 2; i < 14; i++ {
		b[i] = '0' + byte(g.pick(10))
	}
	b[14] = luhnCheckDigit(b[:14])
	return string(b[:])
}

// wristbandAlphabet is Crockford's base 32: digits and capitals without
// I, L, O and U, so that a printed id read aloud or typed from the band is
// not mistaken.
const wristbandAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// wristbandID returns "WB" and 10 random characters of wristbandAlphabet
// (32^10 ≈ 10^15 ids).
func (g *registryGen) wristbandID() string {
	var b [12]byte
	b[0], b[1] = 'W', 'B'
	for i := 2; i < len(b); i++ {
		b[i] = wristbandAlphabet[g.pick(len(wristbandAlphabet))]
	}
	return string(b[:])
}

// uniqueDeviceID draws ids from gen until one is new. Collisions are
// astronomically rare at these sizes, but a registry must never list a
// device twice.
func (g *registryGen) uniqueDeviceID(gen func() string) string {
	for {
		id := gen()
		if _, dup := g.deviceIDs[id]; !dup {
			g.deviceIDs[id] = struct{}{}
			return id
		}
	}
}

// luhnCheckDigit returns the check digit that makes digits followed by it
// pass the Luhn test (the IMEI check digit).
func luhnCheckDigit(digits []byte) byte {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 { // double every second digit from the right, the check digit's neighbour first
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return '0' + byte((10-sum%10)%10)
}
