package logtocli

import (
	"fmt"
	"strings"
)

// DefaultProfile is the profile of FileStorageOptions without one.
const DefaultProfile = "default"

// maxProfileLen bounds profile names, well below any file name limit.
const maxProfileLen = 64

// windowsDevices are names Windows reserves whatever the extension.
var windowsDevices = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// ValidateProfile checks a profile name: 1 to 64 lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, and not a
// name Windows reserves (con, nul, com1, …). The name becomes a file name
// on every system, so it holds no path separator and means the same file
// on case-insensitive file systems.
func ValidateProfile(name string) error {
	if name == "" || len(name) > maxProfileLen {
		return fmt.Errorf("%w: %q must be 1 to %d characters", ErrInvalidProfile, name, maxProfileLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '.' && r != '_' && r != '-') {
			return fmt.Errorf("%w: %q may hold only a-z, 0-9, '.', '_' and '-', and starts with a letter or digit", ErrInvalidProfile, name)
		}
	}
	base, _, _ := strings.Cut(name, ".")
	if windowsDevices[base] {
		return fmt.Errorf("%w: %q is a device name on Windows", ErrInvalidProfile, name)
	}
	return nil
}
