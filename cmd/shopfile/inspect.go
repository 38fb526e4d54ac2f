package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

type inspectJSON struct {
	Shop               string `json:"shop"`
	Title              string `json:"title,omitempty"`
	Host               string `json:"host"`
	HostKey            string `json:"host_key"`
	HostKeyFingerprint string `json:"host_key_fingerprint"`
	PriceSats          int64  `json:"price_sats"`
	Size               int64  `json:"size"`
	ContainerSize      int64  `json:"container_size"`
	ContentID          string `json:"content_id"`
	Version            int    `json:"version"`
	SignatureOK        bool   `json:"signature_ok"`
	PayloadOffset      int64  `json:"payload_offset"`
	CreatedAt          string `json:"created_at"`
}

func inspectCmd() *cobra.Command {
	var asJSON, full bool
	cmd := &cobra.Command{
		Use:   "inspect FILE.shop [--json]",
		Short: "verify and print a .shop file's signed header (no key needed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := readVerified(args[0], full)
			if err != nil {
				return err
			}
			v := inspectJSON{Shop: ids.Shop(h.ItemID), Title: h.Title, Host: strings.TrimPrefix(h.PayAddr, "ssh://"),
				HostKey: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(h.HostKey))), HostKeyFingerprint: gossh.FingerprintSHA256(h.HostKey),
				PriceSats: h.PriceHint, Size: h.PlaintextSize, ContainerSize: h.Size(), ContentID: hex.EncodeToString(h.ContentID[:]),
				Version: h.Version, SignatureOK: true, PayloadOffset: h.PayloadOffset(), CreatedAt: h.CreatedAt.UTC().Format(time.RFC3339)}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "shop            %s\n", v.Shop)
			if v.Title != "" {
				fmt.Fprintf(w, "title           %s\n", v.Title)
			}
			fmt.Fprintf(w, "sold at         ssh://%s (host key %s)\nprice hint      %d sats (the live price is the shop's)\n", v.Host, v.HostKeyFingerprint, v.PriceSats)
			fmt.Fprintf(w, "size            %d bytes (container %d)\ncontent id      %s\nsignature       ok (shopfile-container-v%d)\n", v.Size, v.ContainerSize, v.ContentID, v.Version)
			fmt.Fprintf(w, "payload offset  %d\n", v.PayloadOffset)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON value")
	cmd.Flags().BoolVar(&full, "verify-content", false, "also hash the whole payload against its content id")
	return cmd
}

// readVerified opens a .shop file and verifies its signed header (and with
// full, its whole payload).
func readVerified(path string, full bool) (*container.Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := container.ReadHeader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if full {
		if err := container.VerifyContent(f, h); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return h, nil
}
