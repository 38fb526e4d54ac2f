//go:build !unix

package sqlstore

// lockLedger has no lock to take here: the process keeps pending legs
// without excluding others, so only one process may open the database at
// a time (as the server does).
func lockLedger(string) (release func() error, ok bool, err error) {
	return func() error { return nil }, true, nil
}
