//go:build !unix

package logto_test

import "time"

// processCPU cannot be read on this system: measure reports no cpu-ns/op.
func processCPU() time.Duration { return 0 }
