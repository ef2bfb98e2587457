package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// wqResult is one measured run; the Rust side prints the same fields.
type wqResult struct {
	Suite     string  `json:"suite"`
	Impl      string  `json:"impl"`
	Workload  string  `json:"workload"`
	Ops       uint64  `json:"ops"`
	Gets      uint64  `json:"gets"`
	Threads   int     `json:"threads"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
}

type wqParams struct {
	workload  string
	ops       uint64
	keyspace  uint64
	batch     uint64
	producers uint64
	workers   uint64
	burst     uint64
	warmup    int
	iters     int
}

func runWorkqueue(args []string) error {
	var p wqParams
	fs := flag.NewFlagSet("workqueue", flag.ContinueOnError)
	fs.StringVar(&p.workload, "workload", "single", "single, batch or concurrent")
	fs.Uint64Var(&p.ops, "ops", 1_000_000, "adds in total")
	fs.Uint64Var(&p.keyspace, "keyspace", 10_000, "distinct keys")
	fs.Uint64Var(&p.batch, "batch", 1_000, "adds per round (batch)")
	fs.Uint64Var(&p.producers, "producers", 2, "producer goroutines (concurrent)")
	fs.Uint64Var(&p.workers, "workers", 4, "worker goroutines (concurrent)")
	fs.Uint64Var(&p.burst, "burst", 100, "adds between yields of a producer (concurrent)")
	fs.IntVar(&p.warmup, "warmup", 1, "unreported runs first")
	fs.IntVar(&p.iters, "iters", 1, "reported runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if p.ops == 0 || p.keyspace == 0 || p.batch == 0 || p.producers == 0 || p.workers == 0 || p.burst == 0 {
		return fmt.Errorf("every count must be positive")
	}
	keys := makeKeys(p.keyspace)
	order := keyOrder(p.ops, p.keyspace)
	for i := 0; i < p.warmup+p.iters; i++ {
		var gets uint64
		var took time.Duration
		switch p.workload {
		case "single":
			gets, took = single(keys, order, p)
		case "batch":
			gets, took = batch(keys, order, p)
		case "concurrent":
			gets, took = concurrent(keys, order, p)
		default:
			return fmt.Errorf("unknown workload %q", p.workload)
		}
		if i < p.warmup {
			continue
		}
		threads := 1
		if p.workload == "concurrent" {
			threads = runtime.GOMAXPROCS(0)
		}
		emit(wqResult{
			Suite: "workqueue", Impl: "client-go", Workload: p.workload,
			Ops: p.ops, Gets: gets, Threads: threads,
			Seconds: took.Seconds(), OpsPerSec: float64(p.ops) / took.Seconds(),
		})
	}
	return nil
}

// makeKeys returns the keyspace as namespace/name keys, built before timing.
func makeKeys(n uint64) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("ns-%02d/object-%06d", i%50, i)
	}
	return keys
}

// keyOrder is which key each add uses: splitmix64 of the add's index,
// modulo the keyspace, so duplicates arrive as they would at random. It is
// computed before timing; the Rust side computes the same sequence.
func keyOrder(ops, keyspace uint64) []uint32 {
	order := make([]uint32, ops)
	for j := range order {
		z := (uint64(j) + 1) * 0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		order[j] = uint32(z % keyspace)
	}
	return order
}

func newQueue() *workqueue.Typed[string] {
	// Unnamed: no metrics, like the Rust queue built without metrics.
	return workqueue.NewTyped[string]()
}

// single: one goroutine adds a key, gets it and marks it done, ops times.
func single(keys []string, order []uint32, p wqParams) (uint64, time.Duration) {
	q := newQueue()
	start := time.Now()
	for j := uint64(0); j < p.ops; j++ {
		q.Add(keys[order[j]])
		k, _ := q.Get()
		q.Done(k)
	}
	took := time.Since(start)
	q.ShutDown()
	return p.ops, took
}

// batch: one goroutine adds a round of keys (with duplicates), then gets and
// finishes everything queued, until ops adds were made.
func batch(keys []string, order []uint32, p wqParams) (uint64, time.Duration) {
	q := newQueue()
	var gets uint64
	start := time.Now()
	for j := uint64(0); j < p.ops; {
		end := min(j+p.batch, p.ops)
		for ; j < end; j++ {
			q.Add(keys[order[j]])
		}
		for q.Len() > 0 {
			k, _ := q.Get()
			q.Done(k)
			gets++
		}
	}
	took := time.Since(start)
	q.ShutDown()
	return gets, took
}

// concurrent: producers add ops keys in total, yielding after every burst;
// workers get and finish keys until the queue, shut down with drain once the
// producers are finished, is empty.
func concurrent(keys []string, order []uint32, p wqParams) (uint64, time.Duration) {
	q := newQueue()
	var producers, workers sync.WaitGroup
	gets := make([]uint64, p.workers)
	start := time.Now()
	for w := uint64(0); w < p.workers; w++ {
		workers.Go(func() {
			var n uint64
			for {
				k, shutdown := q.Get()
				if shutdown {
					break
				}
				q.Done(k)
				n++
			}
			gets[w] = n
		})
	}
	for pr := uint64(0); pr < p.producers; pr++ {
		producers.Go(func() {
			// Producer pr makes adds pr, pr+P, pr+2P, ... of the sequence.
			var sinceYield uint64
			for j := pr; j < p.ops; j += p.producers {
				q.Add(keys[order[j]])
				sinceYield++
				if sinceYield == p.burst {
					sinceYield = 0
					runtime.Gosched()
				}
			}
		})
	}
	producers.Wait()
	q.ShutDownWithDrain()
	workers.Wait()
	took := time.Since(start)
	var total uint64
	for _, n := range gets {
		total += n
	}
	return total, took
}
