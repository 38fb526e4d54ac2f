package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/shopfile/shopfile/store"
)

// inBatch bounds the placeholders of one IN (…) list, far below SQLite's
// and PostgreSQL's limits.
const inBatch = 500

// encodeChunks packs chunks compactly: they tile the file in order, so
// offsets are implied by the lengths.
func encodeChunks(cs []store.FPChunk) []byte {
	b := make([]byte, 0, len(cs)*12+binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		v := uint64(c.Len) << 1
		if c.Low {
			v |= 1
		}
		b = binary.AppendUvarint(b, v)
		b = binary.LittleEndian.AppendUint64(b, c.Hash)
	}
	return b
}

func decodeChunks(b []byte) ([]store.FPChunk, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errors.New("chunk list: bad count")
	}
	b = b[k:]
	out := make([]store.FPChunk, 0, n)
	var off int64
	for i := uint64(0); i < n; i++ {
		v, k := binary.Uvarint(b)
		if k <= 0 || len(b) < k+8 {
			return nil, errors.New("chunk list: truncated")
		}
		c := store.FPChunk{Off: off, Len: int32(v >> 1), Low: v&1 == 1, Hash: binary.LittleEndian.Uint64(b[k:])}
		off += int64(c.Len)
		out = append(out, c)
		b = b[k+8:]
	}
	return out, nil
}

// SaveFingerprints stores one shop's fingerprints and postings.
func (db *DB) SaveFingerprints(ctx context.Context, files []store.FPFile) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, f := range files {
			var id int64
			err := tx.QueryRowContext(ctx, db.q(`INSERT INTO fp_files (shop_id, owner, member, member_off, stored, size, blake3, tier, first_seen, chunks)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), f.Shop, f.Owner, f.Member, f.MemberOff, boolInt(f.Stored), f.Size,
				f.Blake3, f.Tier, f.FirstSeen, encodeChunks(f.Chunks)).Scan(&id)
			if err != nil {
				return err
			}
			for _, h := range f.Postings {
				if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO fp_postings (h, file_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), int64(h), id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save fingerprints: %w", err)
	}
	return nil
}

const fpColumns = `id, shop_id, owner, member, member_off, stored, size, blake3, tier, first_seen, chunks`

func scanFP(row interface{ Scan(...any) error }) (*store.FPFile, error) {
	f := &store.FPFile{}
	var stored int
	var chunks []byte
	if err := row.Scan(&f.ID, &f.Shop, &f.Owner, &f.Member, &f.MemberOff, &stored, &f.Size, &f.Blake3, &f.Tier, &f.FirstSeen, &chunks); err != nil {
		return nil, err
	}
	f.Stored = stored != 0
	cs, err := decodeChunks(chunks)
	if err != nil {
		return nil, fmt.Errorf("fingerprint %d: %w", f.ID, err)
	}
	f.Chunks = cs
	return f, nil
}

// FPFile loads one fingerprint with its chunks.
func (db *DB) FPFile(ctx context.Context, id int64) (*store.FPFile, error) {
	f, err := scanFP(db.r.QueryRowContext(ctx, db.q(`SELECT `+fpColumns+` FROM fp_files WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("fingerprint %d: %w", id, mapErr(err))
	}
	return f, nil
}

// ShopFiles loads the fingerprints of a shop (whole file and members).
func (db *DB) ShopFiles(ctx context.Context, shop string) ([]store.FPFile, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT `+fpColumns+` FROM fp_files WHERE shop_id = ? ORDER BY id`), shop)
	if err != nil {
		return nil, fmt.Errorf("fingerprints of %s: %w", shop, err)
	}
	defer rows.Close()
	var out []store.FPFile
	for rows.Next() {
		f, err := scanFP(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// inList returns "(?, ?, …)" and the args for a batch of hashes.
func inList(hs []uint64) (string, []any) {
	args := make([]any, len(hs))
	for i, h := range hs {
		args[i] = int64(h)
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(hs)), ", ") + ")", args
}

func batches(hs []uint64, f func([]uint64) error) error {
	for len(hs) > 0 {
		n := min(len(hs), inBatch)
		if err := f(hs[:n]); err != nil {
			return err
		}
		hs = hs[n:]
	}
	return nil
}

// FilesSharing counts shared postings per file.
func (db *DB) FilesSharing(ctx context.Context, hashes []uint64, minShared int) (map[int64]int, error) {
	counts := map[int64]int{}
	err := batches(hashes, func(hs []uint64) error {
		list, args := inList(hs)
		rows, err := db.r.QueryContext(ctx, db.q(`SELECT file_id, COUNT(*) FROM fp_postings WHERE h IN `+list+` GROUP BY file_id`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			counts[id] += n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("files sharing hashes: %w", err)
	}
	for id, n := range counts {
		if n < minShared {
			delete(counts, id)
		}
	}
	return counts, nil
}

// RefsSharing counts shared hashes per reference.
func (db *DB) RefsSharing(ctx context.Context, hashes []uint64, minShared int) (map[string]int, error) {
	counts := map[string]int{}
	err := batches(hashes, func(hs []uint64) error {
		list, args := inList(hs)
		rows, err := db.r.QueryContext(ctx, db.q(`SELECT ref_id, COUNT(*) FROM ref_chunks WHERE h IN `+list+` GROUP BY ref_id`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			counts[id] += n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("references sharing hashes: %w", err)
	}
	for id, n := range counts {
		if n < minShared {
			delete(counts, id)
		}
	}
	return counts, nil
}

// HashStats counts files and owners per posted hash.
func (db *DB) HashStats(ctx context.Context, hashes []uint64) (map[uint64]store.HashStat, int, error) {
	stats := map[uint64]store.HashStat{}
	var total int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM fp_files`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("hash stats: %w", err)
	}
	err := batches(hashes, func(hs []uint64) error {
		list, args := inList(hs)
		rows, err := db.r.QueryContext(ctx, db.q(`SELECT p.h, COUNT(*), COUNT(DISTINCT f.owner) FROM fp_postings p
			JOIN fp_files f ON f.id = p.file_id WHERE p.h IN `+list+` GROUP BY p.h`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h int64
			var s store.HashStat
			if err := rows.Scan(&h, &s.Files, &s.Owners); err != nil {
				return err
			}
			stats[uint64(h)] = s
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("hash stats: %w", err)
	}
	return stats, total, nil
}

// CreateRef stores a reference and indexes its hashes.
func (db *DB) CreateRef(ctx context.Context, r *store.Ref) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO refs (id, holder, name, size, blake3, chunks, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.Holder, r.Name, r.Size, r.Blake3, encodeChunks(r.Chunks), r.CreatedAt); err != nil {
			return err
		}
		for _, h := range r.Hashes {
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO ref_chunks (h, ref_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), int64(h), r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create reference %s: %w", r.Name, err)
	}
	return nil
}

// Ref loads a reference with its chunks.
func (db *DB) Ref(ctx context.Context, id string) (*store.Ref, error) {
	r := &store.Ref{}
	var chunks []byte
	err := db.r.QueryRowContext(ctx, db.q(`SELECT id, holder, name, size, blake3, chunks, created_at FROM refs WHERE id = ?`), id).
		Scan(&r.ID, &r.Holder, &r.Name, &r.Size, &r.Blake3, &chunks, &r.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", id, mapErr(err))
	}
	if r.Chunks, err = decodeChunks(chunks); err != nil {
		return nil, fmt.Errorf("reference %s: %w", id, err)
	}
	return r, nil
}

// Refs lists a holder's references (without chunks), newest first.
func (db *DB) Refs(ctx context.Context, holder string) ([]store.Ref, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT id, holder, name, size, blake3, created_at FROM refs WHERE holder = ? ORDER BY created_at DESC, id`), holder)
	if err != nil {
		return nil, fmt.Errorf("references of %s: %w", holder, err)
	}
	defer rows.Close()
	out := []store.Ref{}
	for rows.Next() {
		var r store.Ref
		if err := rows.Scan(&r.ID, &r.Holder, &r.Name, &r.Size, &r.Blake3, &r.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpsertMatch records a match or raises an open one's score.
func (db *DB) UpsertMatch(ctx context.Context, m *store.Match) (string, error) {
	id := m.ID
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO matches (id, ref_id, holder, shop_id, file_id, score, strength, status, evidence, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)
			ON CONFLICT (ref_id, shop_id) DO UPDATE SET score = excluded.score, strength = excluded.strength, file_id = excluded.file_id,
				evidence = excluded.evidence, updated_at = excluded.updated_at
			WHERE matches.status = 'open' AND excluded.score > matches.score`),
			m.ID, m.Ref, m.Holder, m.Shop, m.FileID, m.Score, m.Strength, m.Evidence, m.CreatedAt, m.UpdatedAt)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q(`SELECT id FROM matches WHERE ref_id = ? AND shop_id = ?`), m.Ref, m.Shop).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("record match: %w", err)
	}
	return id, nil
}

const matchColumns = `id, ref_id, holder, shop_id, file_id, score, strength, status, evidence, created_at, updated_at`

func scanMatch(row interface{ Scan(...any) error }, m *store.Match) error {
	return row.Scan(&m.ID, &m.Ref, &m.Holder, &m.Shop, &m.FileID, &m.Score, &m.Strength, &m.Status, &m.Evidence, &m.CreatedAt, &m.UpdatedAt)
}

// Match loads one match.
func (db *DB) Match(ctx context.Context, id string) (*store.Match, error) {
	m := &store.Match{}
	if err := scanMatch(db.r.QueryRowContext(ctx, db.q(`SELECT `+matchColumns+` FROM matches WHERE id = ?`), id), m); err != nil {
		return nil, fmt.Errorf("match %s: %w", id, mapErr(err))
	}
	return m, nil
}

// Matches lists a holder's matches, strongest first, optionally for one ref.
func (db *DB) Matches(ctx context.Context, holder, ref string) ([]store.Match, error) {
	query := `SELECT ` + matchColumns + ` FROM matches WHERE holder = ?`
	args := []any{holder}
	if ref != "" {
		query += ` AND ref_id = ?`
		args = append(args, ref)
	}
	rows, err := db.r.QueryContext(ctx, db.q(query+` ORDER BY CASE status WHEN 'open' THEN 0 ELSE 1 END, score DESC, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("matches of %s: %w", holder, err)
	}
	defer rows.Close()
	out := []store.Match{}
	for rows.Next() {
		var m store.Match
		if err := scanMatch(rows, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DismissMatch closes an open match of holder's.
func (db *DB) DismissMatch(ctx context.Context, id, holder string, at int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE matches SET status = 'dismissed', updated_at = ?
			WHERE id = ? AND holder = ? AND status = 'open'`), at, id, holder))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dismiss match %s: %w", id, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
