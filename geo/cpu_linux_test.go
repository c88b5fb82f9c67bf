//go:build linux

package geo

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling OS thread: benchmarks report it
// beside ns/op because wall time on a shared, oversubscribed machine
// measures the neighbours as much as the code.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
