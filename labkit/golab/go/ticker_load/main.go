// Command ticker_load measures, with one P (run it with GOMAXPROCS=1), how many ticks of a
// time.Ticker a goroutine receives when it cannot keep up: -case=work, the receiver itself
// computes -work_ms after every -every-th tick; -case=hog, it does nothing but a CPU-bound
// goroutine (measure.Burn chunks) shares the P with it.
//
// A ticker's channel holds one tick, and since Go 1.23 its timer is in a P's heap only while a
// goroutine is blocked on the channel (src/runtime/time.go needsAdd, blockTimerChan): a receive
// first runs the timer if it is due (maybeRunChan, from chanrecv), and a fired periodic timer
// is rescheduled to the next multiple of its period after now (unlockAndRun: next = when +
// period*(1 + delay/period)), so the periods nobody waited through are skipped, not queued.
// With a hog, the timer is in the P's heap, but a P checks its timers only when it schedules
// (findRunnable -> checkTimers), which the hog lets happen when sysmon preempts it (retake,
// forcePreemptNS = 10 ms): about one tick per time slice.
//
// received/expected: ticks received in a -window_ms window against window/period; also how
// long each work really took and how late a tick the receiver waited for reached it. Medians and
// per-run values are printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"time"
)

var sink uint64

// one runs the receiver (and, with hog, the hog) for window and returns ticks received per
// tick due, the median time each work took (ms) and how late the receiver got its ticks that
// were not already due when it asked (ms after the tick's time).
func one(hog bool, period, window time.Duration, every int, work, chunk int) (float64, float64, float64) {
	done := make(chan struct{})
	start := time.Now()
	end := start.Add(window)
	if hog {
		go func() {
			for time.Now().Before(end) {
				sink += measure.Burn(chunk)
			}
			done <- struct{}{}
		}()
	}
	received := 0
	var works, lates []float64
	tk := time.NewTicker(period)
	asked := time.Now()
	for {
		t := <-tk.C
		now := time.Now()
		if t.After(end) || now.After(end) {
			break
		}
		if t.After(asked) {
			lates = append(lates, measure.Ms(now.Sub(t)))
		}
		received++
		if !hog && received%every == 0 {
			sink += measure.Burn(work)
			works = append(works, measure.Ms(time.Since(now)))
		}
		asked = time.Now()
	}
	tk.Stop()
	if hog {
		<-done
	}
	workMs := 0.0
	if len(works) > 0 {
		workMs = measure.Median(works)
	}
	return float64(received) / (float64(window) / float64(period)), workMs, measure.Median(lates)
}

func main() {
	kind := flag.String("case", "work", "work | hog")
	periodMs := flag.Float64("period_ms", 1, "the ticker's period, ms")
	windowMs := flag.Float64("window_ms", 300, "length of one measured window, ms")
	every := flag.Int("every", 5, "work: the receiver computes after every this many ticks")
	workMs := flag.Float64("work_ms", 2.0, "work: how long it computes, ms")
	repeats := flag.Int("repeats", 7, "measured windows; the medians are reported")
	flag.Parse()

	hog := *kind == "hog"
	work := measure.StepsFor(time.Duration(*workMs * 1e6))
	chunk := measure.StepsFor(50 * time.Microsecond)
	period := time.Duration(*periodMs * 1e6)
	window := time.Duration(*windowMs * 1e6)
	var ratios, works, lates []float64
	for range *repeats {
		ratio, w, late := one(hog, period, window, *every, work, chunk)
		ratios = append(ratios, ratio)
		works = append(works, w)
		lates = append(lates, late)
	}
	measure.Print(map[string]any{
		"case":                  *kind,
		"tick_ratio":            measure.Median(ratios),
		"tick_ratio_runs":       ratios,
		"work_ms_measured":      measure.Median(works),
		"work_ms_measured_runs": works,
		"tick_late_ms":          measure.Median(lates),
		"tick_late_ms_runs":     lates,
		"window_ms":             *windowMs,
		"period_ms":             *periodMs,
		"repeats":               *repeats,
	})
}
