package fingerprint

// The stop-list rule. The store counts, per scored hash, the files posting
// it and their distinct owners, and passes Stopped hashes as the stop func.
const (
	// StopOwners: content uploaded by more owners than this is shared
	// building material (library code, format boilerplate, stock assets).
	StopOwners = 20
	// StopMinFiles and StopFileShare: and only when it is in more than
	// max(StopMinFiles, total/StopFileShare) files (0.1%), so a small shop
	// does not stop-list ordinary content.
	StopMinFiles  = 50
	StopFileShare = 1000
)

// Stopped reports whether a hash posted by files files of owners distinct
// owners, out of total indexed files, is too common to count as evidence.
//
// Research §5.2 stops a hash on either condition; requiring both keeps a
// work that many people uploaded from stop-listing itself through one
// condition alone. Count files already matched strongly to a verified
// reference out of files and owners, or a widely copied reference would
// still stop-list itself once it is copied widely enough.
func Stopped(files, owners, total int) bool {
	return owners > StopOwners && files > max(StopMinFiles, total/StopFileShare)
}
