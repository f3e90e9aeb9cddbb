// Command render is chapter 1's frame loop as a service that runs until it is stopped, observed
// the way the article's section 3.3 observes it: producers write samples, a render loop aims at
// -fps frames a second, each frame drawn into an *image.RGBA with image/draw (a fresh buffer
// each frame, or one from a sync.Pool with -pooled) inside a runtime/trace region "frame", and
// the process carries -live-mib of live pointer nodes, so that the GC has a heap to mark.
// GOGC, GOMEMLIMIT and GOMAXPROCS come from the environment (the runtime reads them itself).
//
// What it exports (Prometheus at /metrics, the article's names first):
//
//	dynamic_graph_render_fps            gauge: frames finished in the last second, set by the
//	                                    render loop itself (the article's fpsGauge)
//	go_goroutines_by_state{state}       gauge: goroutines running / runnable / wait / syscall
//	                                    from runtime/metrics, also set by the render loop at
//	                                    each frame (the article's goroutinesByState)
//	render_frames_total                 counter: frames drawn (rate() of it is the frame rate
//	                                    read at scrape time, even while the loop is stalled)
//	render_frames_late_total            counter: frames that started more than half a period
//	                                    after their due time
//	render_frame_seconds                histogram: wake -> frame handed to the display
//	render_frame_lateness_seconds       histogram: due time -> start of the frame
//	go_sched_*, go_gc_*                 runtime/metrics through client_golang's Go collector
//
// plus net/http/pprof at /debug/pprof/, every runtime/metrics sample at /debug/metrics and the
// loop's own counts at /debug/stats.
//
// The frame loop is labkit/golab/go/frame_loop's (the chapter-1 twin) run without end: a frame
// due at t0 + i/fps starts when the render goroutine wakes after that time; a loop that falls more
// than a whole period behind drops the frames it missed (counted) instead of running them back
// to back. Producers each keep -producer-cpu of a CPU busy in 10 ms slices, allocate samples
// with pointers (2 MiB/s each) and append one value per slice to a series the render loop plots
// (both under one mutex: the mutex profile has a real lock to show).
package main

import (
	"context"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"math"
	"net/http"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"labkit.local/services/internal/obs"
)

// The article's two metrics (section 3.3), registered as it registers them.
var (
	fpsGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "dynamic_graph_render_fps",
		Help: "Real-time frames per second during graph rendering",
	})
	goroutinesByState = promauto.NewGaugeVec(
		prometheus.GaugeOpts{
			Name: "go_goroutines_by_state",
			Help: "Number of goroutines in each runtime state (runnable, running, syscall, wait)",
		},
		[]string{"state"},
	)
)

var (
	framesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "render_frames_total", Help: "Frames drawn.",
	})
	framesLate = promauto.NewCounter(prometheus.CounterOpts{
		Name: "render_frames_late_total",
		Help: "Frames that started more than half a period after their due time.",
	})
	framesDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "render_frames_dropped_total",
		Help: "Frames skipped because the loop fell a whole period behind.",
	})
	frameSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "render_frame_seconds", Help: "Time from the render goroutine's wake to the frame handed to the display.",
		Buckets: obs.DurationBuckets(),
	})
	lateSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "render_frame_lateness_seconds", Help: "Time from a frame's due time to its start.",
		Buckets: obs.DurationBuckets(),
	})
)

type config struct {
	fps, width, height, producers int
	producerCPU, producerAllocMiB float64
	liveMiB                       int
	pooled                        bool
}

// sample is one decoded sensor message: 512 bytes with a pointer (frame_loop's).
type sample struct {
	src  *int
	vals [63]float64
}

// node is one 64-byte piece of the live heap: two pointers the GC follows.
type node struct {
	left, right *node
	_           [6]uintptr
}

var (
	root any    // the live heap, reachable from a global
	sink uint64 // keeps the display's reads and the producers' work alive
)

// buildTree links n nodes into a balanced binary tree (marked in parallel by the GC's workers).
func buildTree(n int) *node {
	if n <= 0 {
		return nil
	}
	left := (n - 1) / 2
	return &node{left: buildTree(left), right: buildTree(n - 1 - left)}
}

// burn does n rounds of arithmetic without calls (only asynchronous preemption stops it).
func burn(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// series is what the producers write and the render loop plots: the last 256 values of each.
type series struct {
	mu   sync.Mutex
	vals [][256]float64
	head []int
}

func (s *series) add(p int, v float64) {
	s.mu.Lock()
	s.vals[p][s.head[p]%256] = v
	s.head[p]++
	s.mu.Unlock()
}

// snapshot copies the values in order, oldest first, into dst.
func (s *series) snapshot(dst [][256]float64) {
	s.mu.Lock()
	for p := range s.vals {
		h := s.head[p]
		for i := 0; i < 256; i++ {
			dst[p][i] = s.vals[p][(h+i)%256]
		}
	}
	s.mu.Unlock()
}

type update struct {
	r image.Rectangle
	c *image.Uniform
}

// producer: in each 10 ms slice, busy for cfg.producerCPU of it, its samples allocated on the
// way (a ring of 256 keeps the latest alive), one series value and one chart update queued
// (dropped when the queue is full), then a sleep to the slice's end.
func producer(id int, cfg config, s *series, updates chan<- update) {
	const slice = 10 * time.Millisecond
	var ring [256]*sample
	src := new(int)
	perSlice := cfg.producerAllocMiB * (1 << 20) * slice.Seconds() / float64(unsafe.Sizeof(sample{}))
	colour := &image.Uniform{color.RGBA{uint8(40 * id), 120, 200, 160}}
	side := cfg.height / 4
	var owed float64
	k := 0
	for n := 0; ; n++ {
		begin := time.Now()
		owed += perSlice
		busy := time.Duration(cfg.producerCPU * float64(slice))
		for owed >= 1 || time.Since(begin) < busy {
			if owed >= 1 {
				ring[k%256] = &sample{src: src}
				k++
				owed--
			}
			sink += burn(2000)
		}
		s.add(id, math.Sin(float64(n)/20+float64(id)))
		x, y := (n*97+id*211)%(cfg.width-side), (n*53+id*131)%(cfg.height-side)
		select {
		case updates <- update{image.Rect(x, y, x+side, y+side), colour}:
		default:
		}
		time.Sleep(slice - time.Since(begin))
	}
}

// display reads every frame it is sent and, when pooled, puts the buffer back.
func display(frames <-chan *image.RGBA, pool *sync.Pool, pooled bool) {
	for img := range frames {
		for i := 0; i < len(img.Pix); i += 4099 {
			sink += uint64(img.Pix[i])
		}
		if pooled {
			pool.Put(img)
		}
	}
}

// stats are the loop's own counts, served at /debug/stats; ?since=N computes the frame-time
// quantiles over frames N+1.. only (of the last 4096 kept), so that a caller can take them over
// its own window.
type stats struct {
	mu                    sync.Mutex
	frames, late, dropped int64
	frameMs, latenessMs   []float64 // of the last len(...) frames, up to 4096
	started               time.Time
	fps                   float64
	cfg                   config
}

func (st *stats) record(frameMs, lateMs float64, late bool) {
	st.mu.Lock()
	st.frames++
	if late {
		st.late++
	}
	if len(st.frameMs) == 4096 {
		st.frameMs, st.latenessMs = st.frameMs[1:], st.latenessMs[1:]
	}
	st.frameMs = append(st.frameMs, frameMs)
	st.latenessMs = append(st.latenessMs, lateMs)
	st.mu.Unlock()
}

func (st *stats) snapshot(r *http.Request) any {
	st.mu.Lock()
	defer st.mu.Unlock()
	frameMs, lateMs := st.frameMs, st.latenessMs
	if since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil {
		keep := int(min(max(st.frames-since, 0), int64(len(frameMs))))
		frameMs, lateMs = frameMs[len(frameMs)-keep:], lateMs[len(lateMs)-keep:]
	}
	return map[string]any{
		"service": "render", "frames": st.frames, "late_frames": st.late,
		"dropped_frames": st.dropped, "fps": st.fps, "quantile_frames": len(frameMs),
		"frame_ms_p50": obs.Quantile(frameMs, 0.5), "frame_ms_p99": obs.Quantile(frameMs, 0.99),
		"frame_ms_max": obs.Quantile(frameMs, 1), "lateness_ms_p50": obs.Quantile(lateMs, 0.5),
		"lateness_ms_p99": obs.Quantile(lateMs, 0.99), "lateness_ms_max": obs.Quantile(lateMs, 1),
		"uptime_s": time.Since(st.started).Seconds(),
		"config": map[string]any{
			"fps": st.cfg.fps, "width": st.cfg.width, "height": st.cfg.height,
			"producers": st.cfg.producers, "producer_cpu": st.cfg.producerCPU,
			"producer_alloc_mib": st.cfg.producerAllocMiB, "live_mib": st.cfg.liveMiB,
			"pooled": st.cfg.pooled,
		},
	}
}

// renderLoop draws frames until the process ends.
func renderLoop(cfg config, s *series, updates chan update, st *stats) {
	rect := image.Rect(0, 0, cfg.width, cfg.height)
	bg := image.NewRGBA(rect)
	draw.Draw(bg, rect, &image.Uniform{color.RGBA{24, 24, 32, 255}}, image.Point{}, draw.Src)
	tint := &image.Uniform{color.RGBA{0, 0, 0, 96}}
	dot := &image.Uniform{color.RGBA{250, 200, 60, 255}}
	pool := &sync.Pool{New: func() any { return image.NewRGBA(rect) }}
	frames := make(chan *image.RGBA, 1)
	go display(frames, pool, cfg.pooled)
	vals := make([][256]float64, cfg.producers)
	states := obs.NewGoroutineStates()
	ctx := context.Background()

	period := time.Second / time.Duration(cfg.fps)
	t0 := time.Now()
	var done []time.Time // finish times within the last second
	for i := int64(0); ; i++ {
		due := t0.Add(time.Duration(i) * period)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		begin := time.Now()
		if behind := begin.Sub(due); behind > period { // drop what was missed, keep the phase
			skip := int64(behind / period)
			i += skip
			framesDropped.Add(float64(skip))
			st.mu.Lock()
			st.dropped += skip
			st.mu.Unlock()
			due = t0.Add(time.Duration(i) * period)
		}
		trace.WithRegion(ctx, "frame", func() {
			var img *image.RGBA
			if cfg.pooled {
				img = pool.Get().(*image.RGBA)
			} else {
				img = image.NewRGBA(rect)
			}
			draw.Draw(img, rect, bg, image.Point{}, draw.Src)
			draw.Draw(img, image.Rect(0, 0, cfg.width/2, cfg.height/2), tint, image.Point{}, draw.Over)
		drain:
			for {
				select {
				case u := <-updates:
					draw.Draw(img, u.r, u.c, image.Point{}, draw.Over)
				default:
					break drain
				}
			}
			s.snapshot(vals)
			for p := range vals {
				for k, v := range vals[p] {
					x := k * (cfg.width - 4) / 256
					y := int(float64(cfg.height)/2 + v*float64(cfg.height)/(2.5+float64(p)))
					draw.Draw(img, image.Rect(x, y, x+3, y+3), dot, image.Point{}, draw.Src)
				}
			}
			frames <- img
		})
		end := time.Now()
		lateness := begin.Sub(due)
		late := lateness > period/2
		frameSeconds.Observe(end.Sub(begin).Seconds())
		lateSeconds.Observe(max(lateness, 0).Seconds())
		framesTotal.Inc()
		if late {
			framesLate.Inc()
		}
		done = append(done, end)
		for len(done) > 0 && end.Sub(done[0]) > time.Second {
			done = done[1:]
		}
		fps := float64(len(done))
		if window := end.Sub(t0); window < time.Second {
			fps /= max(window.Seconds(), period.Seconds())
		}
		fpsGauge.Set(fps)
		states.Set(goroutinesByState)
		st.record(float64(end.Sub(begin))/1e6, float64(max(lateness, 0))/1e6, late)
		st.mu.Lock()
		st.fps = fps
		st.mu.Unlock()
	}
}

func main() {
	fs := flag.CommandLine
	common := obs.Register(fs)
	var cfg config
	fs.IntVar(&cfg.fps, "fps", 60, "target frames per second")
	fs.IntVar(&cfg.width, "width", 1024, "frame width (pixels)")
	fs.IntVar(&cfg.height, "height", 768, "frame height (pixels)")
	fs.IntVar(&cfg.producers, "producers", 4, "producer goroutines")
	fs.Float64Var(&cfg.producerCPU, "producer-cpu", 0.1, "CPU share each producer keeps busy")
	fs.Float64Var(&cfg.producerAllocMiB, "producer-alloc-mib", 2, "MiB/s each producer allocates")
	fs.IntVar(&cfg.liveMiB, "live-mib", 64, "MiB of live pointer nodes the GC marks each cycle")
	fs.BoolVar(&cfg.pooled, "pooled", false, "take frame buffers from a sync.Pool (the fix)")
	flag.Parse()
	if cfg.fps < 1 || cfg.width < 16 || cfg.height < 16 || cfg.producers < 0 || cfg.liveMiB < 0 ||
		cfg.producerCPU < 0 || cfg.producerCPU > 1 || cfg.producerAllocMiB < 0 {
		obs.Fatal("render: a flag is out of range (fps >= 1, width/height >= 16, producers >= 0, " +
			"live-mib >= 0, 0 <= producer-cpu <= 1, producer-alloc-mib >= 0)")
	}
	obs.Setup(common)
	root = buildTree(cfg.liveMiB << 20 / int(unsafe.Sizeof(node{})))

	st := &stats{started: time.Now(), cfg: cfg}
	obs.Stats(st.snapshot)
	s := &series{vals: make([][256]float64, cfg.producers), head: make([]int, cfg.producers)}
	updates := make(chan update, 64)
	for p := 0; p < cfg.producers; p++ {
		go producer(p, cfg, s, updates)
	}
	go renderLoop(cfg, s, updates, st)
	obs.Serve(common)
}
