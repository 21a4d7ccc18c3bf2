package httpx

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// FuzzReadBounded: a body is returned whole when it fits and refused
// (ErrTooLarge, no bytes) when it does not, however it is split into reads.
func FuzzReadBounded(f *testing.F) {
	f.Add([]byte(""), int64(0), false)
	f.Add([]byte("abcd"), int64(4), true)
	f.Add([]byte("abcde"), int64(4), false)
	f.Add(bytes.Repeat([]byte("x"), 4097), int64(4096), true)
	f.Fuzz(func(t *testing.T, data []byte, max int64, oneByte bool) {
		if max < 0 {
			max = -max
		}
		if max < 0 || max > 1<<20 {
			max = 1 << 20
		}
		r := bytes.NewReader(data)
		var got []byte
		var err error
		if oneByte {
			got, err = ReadBounded(iotest.OneByteReader(r), max)
		} else {
			got, err = ReadBounded(r, max)
		}
		if int64(len(data)) > max {
			if !errors.Is(err, ErrTooLarge) || got != nil {
				t.Fatalf("len %d > max %d: got %d bytes, %v", len(data), max, len(got), err)
			}
			return
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("len %d <= max %d: got %d bytes, %v", len(data), max, len(got), err)
		}
	})
}
