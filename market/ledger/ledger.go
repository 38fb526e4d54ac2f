// Package ledger is the single writer in front of the ledger tables. It
// group-commits: it takes whatever ops are queued (no timer), caps the
// batch, applies it in one transaction and answers each caller only once
// that transaction is on stable storage. Under light load a batch is one op
// and latency is one fsync; under load batches grow by themselves.
//
// Durability is pipelined: the writer commits batch N and goes on with
// batch N+1 while a second goroutine fsyncs (store.SyncLedger) and then
// answers batch N's callers. One fsync covers every batch committed before
// it, so the disk's sync latency leaves the writer's critical path.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/shopfile/shopfile/store"
)

// Errors callers may see besides an op's own refusal.
var (
	// ErrBusy: the queue is full. Nothing was done; retry with the same key.
	ErrBusy = errors.New("the ledger is busy, retry")
	// ErrClosed: the ledger is shutting down.
	ErrClosed = errors.New("the ledger is closed")
	// ErrFailed: storage failed earlier; purchases stay off until restart.
	ErrFailed = errors.New("the ledger stopped after a storage failure")
)

// Options tune the writer.
type Options struct {
	MaxBatch  int // ops per transaction; caps the tail latency (default 256)
	QueueSize int // waiting ops before ErrBusy (default 16384)
}

// Ledger serialises ledger batches through one goroutine.
type Ledger struct {
	st       store.LedgerStore
	maxBatch int
	queue    chan *request

	mu     sync.RWMutex // guards closed against Submit racing Close
	closed bool
	failed atomic.Pointer[error]
	done   chan struct{}

	// committed batches waiting for the fsync that makes them durable
	syncQ    chan []pendingReply
	syncDone chan struct{}

	batches atomic.Int64
	ops     atomic.Int64
}

type request struct {
	op    store.Op
	reply chan reply
}

type reply struct {
	res store.OpResult
	err error
}

// pendingReply is an answer held until its batch is durable.
type pendingReply struct {
	req *request
	res store.OpResult
}

// New starts the writer goroutine; Close stops it.
func New(st store.LedgerStore, o Options) *Ledger {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 16384
	}
	l := &Ledger{st: st, maxBatch: o.MaxBatch, queue: make(chan *request, o.QueueSize), done: make(chan struct{}),
		syncQ: make(chan []pendingReply, 64), syncDone: make(chan struct{})}
	go l.run()
	go l.syncer()
	return l
}

// Submit queues op and waits for its durable outcome. If ctx ends first the
// op may still commit; a retry with the same idempotency key finds it.
func (l *Ledger) Submit(ctx context.Context, op store.Op) (store.OpResult, error) {
	if errp := l.failed.Load(); errp != nil {
		return store.OpResult{}, fmt.Errorf("%w: %w", ErrFailed, *errp)
	}
	req := &request{op: op, reply: make(chan reply, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return store.OpResult{}, ErrClosed
	}
	select {
	case l.queue <- req:
	default:
		l.mu.RUnlock()
		return store.OpResult{}, ErrBusy
	}
	l.mu.RUnlock()
	select {
	case r := <-req.reply:
		return r.res, r.err
	case <-ctx.Done():
		return store.OpResult{}, fmt.Errorf("waiting for the ledger: %w", ctx.Err())
	}
}

// Close stops taking ops, finishes the queued ones and stops the writer.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	<-l.done
	<-l.syncDone
	return nil
}

// Stats reports batches committed and ops in them (mean batch = ops/batches).
func (l *Ledger) Stats() (batches, ops int64) { return l.batches.Load(), l.ops.Load() }

func (l *Ledger) run() {
	defer close(l.done)
	defer close(l.syncQ)
	batch := make([]*request, 0, l.maxBatch)
	for first := range l.queue {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < l.maxBatch {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		l.commit(batch)
	}
}

// commit applies a batch. When the batch fails as a whole for a reason that
// is not the disk, each op is retried alone so one bad op fails only itself.
func (l *Ledger) commit(batch []*request) {
	if errp := l.failed.Load(); errp != nil {
		answerAll(batch, fmt.Errorf("%w: %w", ErrFailed, *errp))
		return
	}
	ops := make([]store.Op, len(batch))
	for i, r := range batch {
		ops[i] = r.op
	}
	results, err := l.st.ApplyBatch(context.Background(), ops)
	switch {
	case err == nil:
		l.batches.Add(1)
		l.ops.Add(int64(len(batch)))
		held := make([]pendingReply, len(batch))
		for i, r := range batch {
			held[i] = pendingReply{req: r, res: results[i]}
		}
		l.syncQ <- held
	case errors.Is(err, store.ErrUnavailable):
		l.failed.Store(&err)
		answerAll(batch, fmt.Errorf("%w: %w", ErrFailed, err))
	case len(batch) > 1:
		for _, r := range batch {
			l.commit([]*request{r})
		}
	default:
		answerAll(batch, err)
	}
}

// syncer answers committed batches once they are durable: it takes every
// batch waiting, syncs once, and answers them all. A failed sync fails the
// ledger closed: nothing more is acknowledged.
func (l *Ledger) syncer() {
	defer close(l.syncDone)
	for first := range l.syncQ {
		waiting := [][]pendingReply{first}
	drain:
		for {
			select {
			case more, ok := <-l.syncQ:
				if !ok {
					break drain
				}
				waiting = append(waiting, more)
			default:
				break drain
			}
		}
		err := l.st.SyncLedger(context.Background())
		if err != nil {
			l.failed.Store(&err)
			err = fmt.Errorf("%w: %w", ErrFailed, err)
		}
		for _, batch := range waiting {
			for _, p := range batch {
				if err != nil {
					p.req.reply <- reply{err: err}
					continue
				}
				p.req.reply <- reply{res: p.res}
			}
		}
	}
}

func answerAll(batch []*request, err error) {
	for _, r := range batch {
		r.reply <- reply{err: err}
	}
}
