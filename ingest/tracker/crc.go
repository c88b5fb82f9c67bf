package tracker

// crcITU is CRC-16/X-25 (CRC-ITU as the GT06 documents call it: polynomial
// 0x1021 reflected, initial 0xFFFF, final xor 0xFFFF).
func crcITU(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// crc16IBM is CRC-16/ARC (Teltonika's "CRC-16/IBM": polynomial 0x8005
// reflected, initial 0).
func crc16IBM(b []byte) uint16 {
	crc := uint16(0)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
