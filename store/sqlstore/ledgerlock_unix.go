//go:build unix

package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockLedger takes the exclusive, non-blocking lock that makes this process
// the one keeping the database's pending legs (deferred.go). The kernel
// drops it when the process dies, so a crashed server never leaves it
// behind. ok is false when another process holds it.
func lockLedger(dbPath string) (release func() error, ok bool, err error) {
	f, err := os.OpenFile(dbPath+".ledger", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("ledger lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("ledger lock: %w", err)
	}
	return f.Close, true, nil
}
