package main

import (
	"hash/fnv"

	"dalil"
	"dalil/registry"
)

// imeiWristbands replaces every wristband id with a 15-digit IMEI derived
// from it (TAC 35 then digits of the id's hash, then the Luhn check digit),
// so that a generated registry can stand for hardware trackers that report
// by IMEI. The same id always gives the same IMEI.
func imeiWristbands(ps []registry.Pilgrim) {
	seen := map[string]bool{}
	for i := range ps {
		for k, id := range ps[i].Devices {
			if k >= len(ps[i].DeviceKinds) || ps[i].DeviceKinds[k] != dalil.DeviceWristband {
				continue
			}
			for salt := byte(0); ; salt++ {
				imei := imeiFor(id, salt)
				if !seen[imei] {
					seen[imei] = true
					ps[i].Devices[k] = imei
					break
				}
			}
		}
	}
}

func imeiFor(id string, salt byte) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{salt})
	v := h.Sum64()
	var b [15]byte
	b[0], b[1] = '3', '5'
	for i := 2; i < 14; i++ {
		b[i] = '0' + byte(v%10)
		v /= 10
	}
	sum := 0
	for i := 0; i < 14; i++ {
		d := int(b[13-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	b[14] = '0' + byte((10-sum%10)%10)
	return string(b[:])
}
