// Package qr draws a deposit address as a QR code in half blocks, two
// modules per cell row, so it fits a terminal and scans from a phone.
package qr

import (
	"bytes"
	"strings"

	"github.com/mdp/qrterminal/v3"
)

// maxText keeps qrterminal away from texts QR cannot hold (it would
// dereference a nil code).
const maxText = 256

// Address renders a bitcoin address. Bech32 addresses are case-insensitive
// and upper case fits QR's alphanumeric mode, a smaller code.
func Address(addr string, dark bool) string {
	lower := strings.ToLower(addr)
	for _, hrp := range []string{"bc1", "tb1", "bcrt1"} {
		if strings.HasPrefix(lower, hrp) {
			addr = strings.ToUpper(addr)
			break
		}
	}
	return Render(addr, dark)
}

// Render returns the code's lines, or "" when text is empty or too long.
// On a dark background the light cells are the code's light modules, so
// the code is not inverted.
func Render(text string, dark bool) string {
	if text == "" || len(text) > maxText {
		return ""
	}
	var buf bytes.Buffer
	cfg := qrterminal.Config{Level: qrterminal.L, Writer: &buf, HalfBlocks: true, QuietZone: 2,
		BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE,
		BlackWhiteChar: qrterminal.BLACK_WHITE, WhiteBlackChar: qrterminal.WHITE_BLACK}
	if !dark {
		cfg.BlackChar, cfg.WhiteChar = qrterminal.WHITE_WHITE, qrterminal.BLACK_BLACK
		cfg.BlackWhiteChar, cfg.WhiteBlackChar = qrterminal.WHITE_BLACK, qrterminal.BLACK_WHITE
	}
	qrterminal.GenerateWithConfig(text, cfg)
	return strings.TrimRight(buf.String(), "\n")
}

// Size is the cells a rendered code takes.
func Size(code string) (width, height int) {
	if code == "" {
		return 0, 0
	}
	lines := strings.Split(code, "\n")
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	return width, len(lines)
}
