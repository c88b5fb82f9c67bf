//go:build !linux

package geo

import "time"

func threadCPU() time.Duration { return 0 }
