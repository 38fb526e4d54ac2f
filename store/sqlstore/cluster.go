package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several servers on one PostgreSQL database: leadership for work that
// must run in one of them at a time (the chain watcher), and a channel
// that carries events between them. On SQLite there is one server: it
// always leads and has nobody to tell.

// How often a follower tries to take a leadership, and how often the
// leader checks that the connection holding its lock is alive.
const (
	leadRetry    = 2 * time.Second
	leadCheck    = 2 * time.Second
	leadCheckMax = 5 * time.Second
)

// leadKey is the advisory lock key of a named leadership.
func leadKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("shopfile:" + name))
	return int64(h.Sum64() &^ (1 << 63))
}

// Lead blocks until this server holds the leadership called name, or ctx
// ends. It returns a context that ends when the leadership is lost (the
// connection holding it failed) or ctx ends, and a func that gives it up;
// call it when done. On PostgreSQL the leadership is a session advisory
// lock held on a connection of its own: if the server dies, its
// connection closes and the lock goes to a waiting server. On SQLite the
// caller always leads.
func (db *DB) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	if db.pgConfig == nil {
		lctx, cancel := context.WithCancel(ctx)
		return lctx, cancel, nil
	}
	key := leadKey(name)
	for {
		conn, held, err := db.tryLock(ctx, key)
		if held {
			lctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				holdLock(lctx, conn)
				cancel()
			}()
			release := func() {
				cancel()
				<-done
				uctx, ucancel := context.WithTimeout(context.Background(), leadCheckMax)
				defer ucancel()
				_, _ = conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key)
				_ = conn.Close(uctx)
			}
			return lctx, release, nil
		}
		_ = err // not reachable, or held elsewhere: try again later
		t := time.NewTimer(leadRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// tryLock connects and tries the advisory lock once; the connection is
// kept only when the lock is held.
func (db *DB) tryLock(ctx context.Context, key int64) (*pgx.Conn, bool, error) {
	conn, err := db.pgConn(ctx)
	if err != nil {
		return nil, false, err
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		_ = conn.Close(context.Background())
		if err != nil {
			return nil, false, fmt.Errorf("advisory lock: %w", err)
		}
		return nil, false, nil
	}
	return conn, true, nil
}

// holdLock pings the lock's connection until ctx ends or a ping fails.
func holdLock(ctx context.Context, conn *pgx.Conn) {
	t := time.NewTicker(leadCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, leadCheckMax)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// Shared reports whether other servers may share this store's database
// (PostgreSQL), so events and leadership matter.
func (db *DB) Shared() bool { return db.pgConfig != nil }

// Notify sends payload to every server listening on channel (PostgreSQL
// NOTIFY, delivered when the sending transaction commits; here at once).
// A no-op on SQLite.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if db.pgConfig == nil {
		return nil
	}
	if _, err := db.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with the payload of every notification on channel, on a
// connection of its own, until ctx ends; then it returns ctx.Err(). After
// a lost connection it reconnects (what was sent meanwhile is missed).
// ready, when set, is called each time the connection listens. On SQLite
// it just waits for ctx.
func (db *DB) Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error {
	if db.pgConfig == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	for {
		err := db.listenOnce(ctx, channel, ready, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // the connection failed: reconnect after a pause
		t := time.NewTimer(leadRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, channel string, ready func(), fn func(string)) error {
	conn, err := db.pgConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("listen %s: %w", channel, err)
		}
		fn(n.Payload)
	}
}
