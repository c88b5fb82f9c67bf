package load

import (
	"math/rand/v2"
	"time"

	"dalil"
)

// ProcessCPU is the CPU time (user + system) process pid has used.
func ProcessCPU(pid int) (time.Duration, error) {
	s, err := readProc(pid)
	return time.Duration(s.cpuTicks) * time.Second / clockTicks, err
}

// PIDListening finds the process listening on a local TCP port.
func PIDListening(port int) (int, error) { return pidListening(port) }

// FixNear is a fix of device d at time t, scattered around its home as GPS
// error scatters a standing pilgrim's.
func FixNear(rng *rand.Rand, d *Device, t time.Time) dalil.Position { return fixNear(rng, d, t) }

// ThisMachine describes the computer the figures come from.
func ThisMachine() Machine { return machine() }
