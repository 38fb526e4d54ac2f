// Package fingerprint is the byte layer of shopfile's content matching: it
// finds shop files that contain a rights holder's reference, or are contained
// in it, after bytes were appended, prepended, inserted, cut or flipped, or
// the file was put in a tar or zip. It is pure: no store, no network, no
// package-level mutable state.
//
// # Upload pass
//
// A Hasher is an io.Writer fed once with the whole file, in the same pass as
// encryption (tee the plaintext into it). Sum returns a Print: the size, the
// file digest (blake3 over the chunks' blake3 digests, so the bytes are
// hashed once) and every content-defined chunk.
//
//	h := fingerprint.NewHasher()
//	io.Copy(io.MultiWriter(enc, h), upload)
//	p := h.Sum()
//
// Chunks are cut FastCDC-style (a gear rolling hash with normalized chunking,
// level 1): no cut before MinSize (2 KiB), a strict cut condition up to
// AvgSize (8 KiB), a loose one after, and a forced cut at MaxSize (64 KiB);
// chunks average about 10 KiB. A cut depends only on the 64 bytes before it
// and the distance from the previous cut, so an edit changes the chunks
// around it and the boundaries fall back in step within about 13 KB; level
// 1 rather than 2 because level 2 takes half as long again to fall back in
// step, which costs excerpts and prepends their first chunks.
// Each chunk is hashed with blake3; Chunk.Hash keeps the first 8 bytes,
// shifted right by one so that int64(Hash) is non-negative (SQLite).
//
// Low-entropy chunks are marked Chunk.LowEntropy: mostly one byte value
// with under 256 bytes' worth of order-0 information (zero fill, padding,
// zero runs with a little common structure at their edges), or a repeated
// pattern of 8 bytes or less. They are never scored and never indexed:
// silence and zero fill must not make unrelated files match. Sparse but
// varied data (opcode tables at 95% zeros) stays scored. The check samples
// 256 bytes per chunk, so it costs about 2% of the pass.
//
// Zip, tar and gzip (.gz, .tar.gz) uploads are also indexed member by
// member: Members returns one Print per regular, non-empty member, bounded
// by Limits (10,000 entries, 1 GiB per member, 4 GiB in all, and at most
// 100 times the archive's size read or decompressed, against zip bombs and
// sparse tar entries). It is a second read of the archive, through an
// io.ReaderAt. Deflated members are decompressed: their compressed bytes
// never match a reference byte-wise, their plain bytes do. Archives inside
// archives are not opened.
//
// # Index
//
// Print.Sample returns the postings of a file: the distinct hashes of its
// scored chunks below TierBound(tier) = 2^63/8^tier, at the smallest tier
// that leaves at most MaxPostings (512). Files up to about 5 MB keep every
// chunk. Store the tier with the file. Reference Prints are kept whole.
//
// # Stop list
//
// Content common to many files (runtime and library code in binaries,
// format boilerplate, stock assets) is not evidence of copying. The store
// counts, per posted hash, the files and distinct owners posting it and
// passes a stop func built from Stopped: more than StopOwners (20) owners
// and more than max(50, N/1000) files of N. Leave files already matched
// strongly to a verified reference out of the counts, or a widely copied
// work stop-lists itself. Recompute periodically. Every function here takes
// stop, which may be nil, and stopped hashes count on neither side.
//
// # Matching
//
// Compare(ref, file, stop) scores two complete Prints: with R and F the
// distinct scored hashes of each side, RefContained = |R∩F|/|R| (the
// reference is inside the file: append, prepend, insert, archive) and
// FileContained = |R∩F|/|F| (the file is an excerpt); Score is the larger.
// It also returns the evidence: the matched byte ranges in both files, the
// share of each file they cover, and the bytes of distinct shared chunks.
//
// Estimate(ref, tier, hashes, stop) computes the same containments from a
// file's index sample. Both sides are restricted to the file's tier, so the
// estimate is unbiased: RefContained = |R_t ∩ F_t| / |R_t| where R_t is the
// reference's hashes below TierBound(tier). Its Shared is a sampled count
// and StrongShared applies to it, so at tier t a strong estimate needs about
// 8·8^t shared chunks. A small reference inside a huge non-archive file can
// fall below that; members and the media layers cover part of the gap.
//
// Strength follows research §5.4: Strong needs Score ≥ 0.5, at least 8
// shared scored hashes and at least 64 KiB of distinct matched bytes; Review
// needs Score ≥ 0.2 and 4 shared hashes. Exact reports equal whole-file
// blake3. Distinctive rejects references that can never reach Strong (under
// 64 KiB, too uniform, or mostly stop-listed) and says why.
//
// # Speed
//
// The pass costs two blake3 passes (whole file and chunks) plus the gear
// scan. BenchmarkHasher reports it against raw blake3 over the same 64 MiB,
// timed in the same run: about 0.3x blake3, i.e. about 1 GB/s per core
// where zeebo/blake3 runs at 3.3 GB/s. BenchmarkChunker (the gear scan
// alone) runs at about blake3's speed.
//
//	go test ./fingerprint -run '^$' -bench . -benchtime 10x
//
// # Evaluation
//
// Sub-package eval measures recall per modification class and strong false
// matches on real files found on the machine (the Go tree, its toolchain
// binaries, tiny programs it builds); TestEvalSmall runs with the normal
// tests and the full run is
//
//	go test ./fingerprint/eval -run TestEvalFull -eval.full -v
package fingerprint
