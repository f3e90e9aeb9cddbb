// Command json_allocs counts the heap allocations of one json.Marshal call, and how they depend
// on what is marshalled.
//
// In go1.27 json.Marshal is json/v2's Marshal with the v1 options (src/encoding/json/
// v2_encode.go:185; the jsonv2 GOEXPERIMENT is on by default, src/internal/buildcfg/exp.go:87).
// It encodes with an Encoder taken from a sync.Pool (bufferedEncoderPool, src/encoding/json/
// jsontext/pools.go:23) and returns a copy of its bytes, so a value made only of numbers and
// strings costs a few allocations per call, however many rows it has. A time.Time costs none:
// json/v2 formats it itself (makeTimeArshaler, src/encoding/json/v2/arshal_time.go:134, set
// after the method arshaler in lookupArshaler, arshal.go:535, so its MarshalJSON is not
// called). A map allocates per value: an addressable key and value are made for each map
// (newAddressableValue, src/encoding/json/v2/arshal_default.go:855-856) and, with two entries
// or more, the keys are sorted (v1's deterministic output) and each value read back through
// reflect's MapIndex, which copies it (copyVal, src/reflect/value.go:1892): 2 + n allocations
// for a map of n >= 2 entries (measured: 1 entry 2, 2 entries 4, 3 entries 5, 8 entries 10).
//
// -payload chooses the rows:
//
//	points   the case study's dashboard points: {series string, ts int64, value float64, host string}
//	numbers  {ts int64, value float64, count int64}: numbers only
//	tagged   {series string, at time.Time, value float64, tags map[string]string (2 entries)}
//
// The slice is passed to json.Marshal as the handler of the case study passes it, a typed value
// converted to the interface parameter on each call (convTslice: one small allocation for the
// slice header). testing.AllocsPerRun gives allocations per call (averaged over -runs calls, after one
// warm-up); bytes per call come from runtime.MemStats.TotalAlloc over the same calls. One JSON
// object on stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"testing"
	"time"
)

type point struct {
	Series string  `json:"series"`
	TS     int64   `json:"ts"`
	Value  float64 `json:"value"`
	Host   string  `json:"host"`
}

type numbers struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
	Count int64   `json:"count"`
}

type tagged struct {
	Series string            `json:"series"`
	At     time.Time         `json:"at"`
	Value  float64           `json:"value"`
	Tags   map[string]string `json:"tags"`
}

// makeRows builds n rows with make, the way the case study's handler holds them.
func makeRows[T any](n int, row func(i int, base time.Time) T) []T {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	v := make([]T, n)
	for i := range v {
		v[i] = row(i, base)
	}
	return v
}

// marshal returns a function that marshals the typed slice v (converted to any on each call,
// as in a handler) and the body it produces.
func marshal[T any](v []T) (func(), []byte) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return func() {
		if _, err := json.Marshal(v); err != nil {
			panic(err)
		}
	}, body
}

func payload(kind string, n int) (func(), []byte) {
	switch kind {
	case "points":
		return marshal(makeRows(n, func(i int, base time.Time) point {
			return point{fmt.Sprintf("cpu.%d", i%16), base.Unix() + int64(i), float64(i) * 0.25,
				fmt.Sprintf("host-%02d", i%40)}
		}))
	case "numbers":
		return marshal(makeRows(n, func(i int, base time.Time) numbers {
			return numbers{base.Unix() + int64(i), float64(i) * 0.25, int64(i)}
		}))
	case "tagged":
		return marshal(makeRows(n, func(i int, base time.Time) tagged {
			return tagged{fmt.Sprintf("cpu.%d", i%16), base.Add(time.Duration(i) * time.Second),
				float64(i) * 0.25, map[string]string{"host": fmt.Sprintf("host-%02d", i%40),
					"region": "eu"}}
		}))
	}
	return nil, nil
}

func main() {
	kind := flag.String("payload", "points", "points | numbers | tagged")
	nrows := flag.Int("rows", 4000, "rows in the marshalled slice")
	runs := flag.Int("runs", 50, "json.Marshal calls averaged")
	flag.Parse()
	call, body := payload(*kind, *nrows)
	if call == nil {
		fmt.Fprintf(os.Stderr, "unknown -payload %q\n", *kind)
		os.Exit(2)
	}
	allocs := testing.AllocsPerRun(*runs, call)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range *runs {
		call()
	}
	runtime.ReadMemStats(&after)
	bytesPerCall := float64(after.TotalAlloc-before.TotalAlloc) / float64(*runs)
	measure.Print(map[string]any{
		"allocs_per_call":     allocs,
		"allocs_per_row":      allocs / float64(*nrows),
		"bytes_per_call":      bytesPerCall,
		"body_bytes":          len(body),
		"alloc_per_body_byte": bytesPerCall / float64(len(body)),
		"payload":             *kind,
		"rows":                *nrows,
		"runs":                *runs,
	})
}
