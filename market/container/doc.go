// Package container reads and writes .shop v1 files: a small signed binary
// envelope (public shop metadata, SSHSIG by the shop's ed25519 host key)
// followed by an unmodified age v1 file whose file key is released to buyers
// as "key slips" (age headers wrapping the same file key to their SSH key).
//
// The format, limits and errors are described in docs/container.md; the
// design rationale in the research note container.md.
package container
