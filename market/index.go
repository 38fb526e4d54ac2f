package market

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/fingerprint"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/store"
)

// index stores the fingerprints of a new shop's file (and of each member
// when it is a zip or tar) and matches them against every reference.
func (m *Market) index(ctx context.Context, s *store.Shop, p *fingerprint.Print, fileKey []byte) error {
	files := []store.FPFile{fpFile(s, "", 0, true, p)}
	members, err := m.members(s, fileKey)
	if err != nil {
		m.log.Warn("archive members", "shop", s.ID, "err", err)
	}
	for _, mb := range members {
		files = append(files, fpFile(s, mb.Name, mb.Offset, mb.Stored, mb.Print))
	}
	if err := m.st.SaveFingerprints(ctx, files); err != nil {
		return fmt.Errorf("index %s: %w", s.ID, err)
	}
	saved, err := m.st.ShopFiles(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("index %s: %w", s.ID, err)
	}
	for i := range saved { // the store assigned ids; carry the postings over
		saved[i].Postings = files[i].Postings
	}
	return m.matchFiles(ctx, saved)
}

func fpFile(s *store.Shop, member string, off int64, stored bool, p *fingerprint.Print) store.FPFile {
	tier, postings := p.Sample()
	return store.FPFile{Shop: s.ID, Owner: s.Uploader, Member: member, MemberOff: off, Stored: stored, Size: p.Size,
		Blake3: hex.EncodeToString(p.Blake3[:]), Tier: tier, FirstSeen: s.CreatedAt, Chunks: fromPrint(p), Postings: postings}
}

// members fingerprints the members of an archive upload, reading the
// plaintext back through the container (zip needs random access).
func (m *Market) members(s *store.Shop, fileKey []byte) ([]fingerprint.Member, error) {
	f, err := m.blobs.Open(s.ID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hdr, err := container.ReadHeader(f, f.Size())
	if err != nil {
		return nil, err
	}
	ra, size, err := container.NewReaderAt(f, hdr, fileKey)
	if err != nil {
		return nil, err
	}
	ms, err := fingerprint.Members(ra, size)
	if errors.Is(err, fingerprint.ErrLimit) {
		return ms, nil
	}
	return ms, err
}
