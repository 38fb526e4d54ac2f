package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shopfile/shopfile/market/ledger"
)

// Options configure `shopfile bench purchases`.
type Options struct {
	Buyers   int           // concurrent buyers (goroutines calling market.Buy)
	Accounts int           // funded accounts; buyers are drawn from them
	Shops    int           // catalogue size; 0: Accounts/100, at least 100
	Duration time.Duration // the measured run
	Baseline time.Duration // the one-buyer baseline; 0: Duration/6, 2 s to 5 s
	DataDir  string        // a fresh directory for the database (and keys)
	DBDriver string        // "sqlite" (default) or "postgres"
	DBDSN    string        // postgres: a server where the bench creates (and then drops) a database
	MaxBatch int           // the ledger's batch cap; 0: its default
	FeeBps   int64         // platform fee; 0: 500 (5%)
	// CPUProfile, when set, receives a pprof CPU profile of the measured run.
	CPUProfile string
	Log        io.Writer // progress lines; nil: silent
}

func (o *Options) defaults() {
	if o.Shops <= 0 {
		o.Shops = max(o.Accounts/100, 100)
	}
	o.Shops = min(o.Shops, o.Accounts)
	if o.Baseline <= 0 {
		o.Baseline = min(max(o.Duration/6, 2*time.Second), 5*time.Second)
	}
	if o.FeeBps <= 0 {
		o.FeeBps = 500
	}
}

// Result is what `bench purchases` prints. Purchases are counted only once
// market.Buy returned, i.e. after the COMMIT of their batch.
type Result struct {
	PurchasesPerSec float64 `json:"purchases_per_sec"`
	BaselinePerSec  float64 `json:"baseline_per_sec"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	Maxms           float64 `json:"max_ms"`
	MeanBatch       float64 `json:"mean_batch"`
	Buyers          int     `json:"buyers"`
	Accounts        int     `json:"accounts"`
	Durable         bool    `json:"durable"`
	Driver          string  `json:"db_driver"`

	Ratio           float64 `json:"ratio"` // purchases_per_sec / baseline_per_sec
	Shops           int     `json:"shops"`
	Purchases       int64   `json:"purchases"`
	Seconds         float64 `json:"seconds"`
	BaselineP50ms   float64 `json:"baseline_p50_ms"`
	BusyRetries     int64   `json:"busy_retries"`
	CPUPerPurchase  float64 `json:"cpu_us_per_purchase"` // process CPU (user+sys) per purchase, µs
	CommitsPerSec   float64 `json:"commits_per_sec"`
	ReplaysVerified int     `json:"replays_verified"`
}

// Purchases runs the purchase benchmark: seed, baseline, measured run,
// replay check, invariant checks. A broken invariant is an error.
func Purchases(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	if o.Buyers < 1 || o.Duration <= 0 {
		return Result{}, fmt.Errorf("need at least one buyer and a positive duration")
	}
	w, err := openWorld(ctx, worldOptions{dir: o.DataDir, dbDriver: o.DBDriver, dbDSN: o.DBDSN, accounts: o.Accounts, shops: o.Shops, maxBatch: o.MaxBatch,
		feeBps: o.FeeBps, log: o.Log})
	if err != nil {
		return Result{}, err
	}
	defer w.close()
	own := newOwned(len(w.shops))
	var acks ackLog

	progress(o.Log, "baseline: 1 buyer, one purchase per transaction, %v", o.Baseline)
	base, err := w.drive(ctx, 1, o.Baseline, own, &acks, 1)
	if err != nil {
		return Result{}, fmt.Errorf("baseline: %w", err)
	}
	if base.meanBatch > 1.001 {
		return Result{}, fmt.Errorf("baseline batches averaged %.3f purchases, want 1", base.meanBatch)
	}
	progress(o.Log, "baseline: %.0f purchases/s (p50 %.2f ms)", base.rate(), ms(base.hist.quantile(0.5)))

	progress(o.Log, "run: %d buyers, %d accounts, %d shops, %v", o.Buyers, o.Accounts, o.Shops, o.Duration)
	stopProfile, err := startProfile(o.CPUProfile)
	if err != nil {
		return Result{}, err
	}
	run, err := w.drive(ctx, o.Buyers, o.Duration, own, &acks, 1000)
	stopProfile()
	if err != nil {
		return Result{}, fmt.Errorf("run: %w", err)
	}
	res := Result{
		PurchasesPerSec: run.rate(), BaselinePerSec: base.rate(),
		P50ms: ms(run.hist.quantile(0.5)), P99ms: ms(run.hist.quantile(0.99)), Maxms: ms(run.hist.max),
		MeanBatch: run.meanBatch, Buyers: o.Buyers, Accounts: o.Accounts, Durable: true, Driver: w.st.Driver(),
		Shops: len(w.shops), Purchases: run.hist.n, Seconds: run.elapsed.Seconds(),
		BaselineP50ms: ms(base.hist.quantile(0.5)), BusyRetries: run.busy,
		CPUPerPurchase: float64(run.cpu.Microseconds()) / float64(max(run.hist.n, 1)),
		CommitsPerSec:  float64(run.batches) / run.elapsed.Seconds(),
	}
	res.Ratio = res.PurchasesPerSec / res.BaselinePerSec
	progress(o.Log, "run: %.0f purchases/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean batch %.1f",
		res.PurchasesPerSec, res.P50ms, res.P99ms, res.Maxms, res.MeanBatch)
	progress(o.Log, "checking the ledger")
	if res.ReplaysVerified, err = w.check(ctx, &acks); err != nil {
		return res, err
	}
	return res, nil
}

// startProfile starts a CPU profile into path (nothing when empty).
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// phase is one measured stretch of load.
type phase struct {
	hist      histogram
	elapsed   time.Duration
	busy      int64
	batches   int64
	meanBatch float64
	cpu       time.Duration
}

func (p *phase) rate() float64 { return float64(p.hist.n) / p.elapsed.Seconds() }

// ack is one acknowledged purchase, kept for the checks.
type ack struct {
	buyer, shop int
	id          string
	fee, legs   int64
}

// ackLog collects acknowledged purchases from every worker.
type ackLog struct {
	mu   sync.Mutex
	all  []ack
	fees int64
	legs int64
}

func (l *ackLog) add(as []ack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, as...)
	for _, a := range as {
		l.fees += a.fee
		l.legs += a.legs
	}
}

// buyFunc performs one purchase attempt for a worker; busy reports a
// "busy, retry" answer (nothing was done).
type buyFunc func(ctx context.Context, buyer, shop int, key string) (a ack, busy bool, err error)

// drive runs n workers calling market.Buy in process for d.
func (w *world) drive(ctx context.Context, n int, d time.Duration, own *owned, acks *ackLog, seed uint64) (*phase, error) {
	buy := func(ctx context.Context, buyer, shop int, key string) (ack, bool, error) {
		p, err := w.m.Buy(ctx, w.accounts[buyer], w.shops[shop].id, key, 0)
		if errors.Is(err, ledger.ErrBusy) {
			return ack{}, true, nil
		}
		if err != nil {
			return ack{}, false, err
		}
		if p.Existing || p.ID != key {
			return ack{}, false, fmt.Errorf("purchase %s of %s came back as existing purchase %s", key, p.Shop, p.ID)
		}
		return ack{buyer: buyer, shop: shop, id: p.ID, fee: p.FeeSats, legs: legs(p.PriceSats, p.FeeSats)}, false, nil
	}
	workers := make([]func(*picker) int, n)
	for i := range workers {
		workers[i] = func(p *picker) int { return p.buyer() }
	}
	return w.load(ctx, workers, d, own, acks, seed, buy)
}

// pickPurchase draws a buyer and a shop it does not own yet. A buyer that
// already owns every shop (the head of the Zipf curve, in a small
// catalogue) is passed over for another draw.
func pickPurchase(w *world, p *picker, own *owned, pickBuyer func(*picker) int) (buyer, shop int, ok bool) {
	for range 100 {
		buyer = pickBuyer(p)
		if shop, ok = p.shop(w, own, buyer); ok {
			return buyer, shop, true
		}
	}
	return buyer, 0, false
}

func legs(price, fee int64) int64 {
	var n int64
	if price-fee > 0 {
		n++
	}
	if fee > 0 {
		n++
	}
	return n
}

// load runs one goroutine per worker until d has passed: each picks a
// buyer (the worker's function) and a shop, and buys with a fresh key,
// retrying with the same key while the ledger answers busy. Latency runs
// from the first attempt to the acknowledgement.
func (w *world) load(ctx context.Context, workers []func(*picker) int, d time.Duration, own *owned, acks *ackLog,
	seed uint64, buy buyFunc) (*phase, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b0, ops0 := w.led.Stats()
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    phase
		firstErr error
		busy     atomic.Int64
	)
	for i, pickBuyer := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPicker(seed*1_000_003+uint64(i), len(w.accounts), len(w.shops))
			var h histogram
			var mine []ack
			err := func() error {
				for time.Now().Before(deadline) {
					buyer, shop, ok := pickPurchase(w, p, own, pickBuyer)
					if !ok {
						return fmt.Errorf("account %d owns every shop: run with more --shops", buyer)
					}
					key := w.m.NewPurchaseKey()
					t0 := time.Now()
					for {
						a, isBusy, err := buy(ctx, buyer, shop, key)
						if err != nil {
							return err
						}
						if isBusy {
							busy.Add(1)
							time.Sleep(200 * time.Microsecond)
							continue
						}
						h.record(time.Since(t0))
						mine = append(mine, a)
						break
					}
				}
				return nil
			}()
			acks.add(mine)
			mu.Lock()
			defer mu.Unlock()
			total.hist.merge(&h)
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	total.cpu = cpuTime() - cpu0
	total.busy = busy.Load()
	b1, ops1 := w.led.Stats()
	total.batches = b1 - b0
	if total.batches > 0 {
		total.meanBatch = float64(ops1-ops0) / float64(total.batches)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return &total, nil
}

// cpuTime is the CPU this process used so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
