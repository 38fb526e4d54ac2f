package common

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/shopfile/shopfile/market"
)

// Sats renders an amount: "12,345 sats".
func Sats(n int64) string { return Thousands(n) + " sats" }

// Thousands groups digits: 1234567 → "1,234,567".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Signed renders a movement with its sign: "+500", "-1,000".
func Signed(n int64) string {
	if n > 0 {
		return "+" + Thousands(n)
	}
	return Thousands(n)
}

// Bytes renders a size for people.
func Bytes(n int64) string { return market.FormatBytes(n) }

// ShortID shortens an account id for the header: "SHA256:AbCd…WxYz".
func ShortID(id string) string {
	body := strings.TrimPrefix(id, "SHA256:")
	if len(body) <= 10 {
		return id
	}
	prefix := ""
	if body != id {
		prefix = "SHA256:"
	}
	return prefix + body[:4] + "…" + body[len(body)-4:]
}

// Party names an account, marking the session's own.
func Party(id, self string) string {
	if id == self {
		return ShortID(id) + " (you)"
	}
	return ShortID(id)
}

// Truncate cuts s to width cells with an ellipsis.
func Truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// Width is a string's width in cells.
func Width(s string) int { return ansi.StringWidth(s) }

// PadRight pads s with spaces to width cells (after truncating it).
func PadRight(s string, width int) string {
	s = Truncate(s, width)
	return s + strings.Repeat(" ", max(0, width-Width(s)))
}

// PadLeft right-aligns s in width cells.
func PadLeft(s string, width int) string {
	s = Truncate(s, width)
	return strings.Repeat(" ", max(0, width-Width(s))) + s
}

// FitLines cuts every line to width and the block to height lines, so a
// page can never push the footer off screen.
func FitLines(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if height >= 0 && len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if Width(l) > width {
			lines[i] = Truncate(l, width)
		}
	}
	return strings.Join(lines, "\n")
}

// Wrap wraps text to width, breaking long words, for descriptions and
// commands that must stay whole rather than be cut.
func Wrap(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Wrap(s, width, " ")
}

// ShellQuote quotes a file name for a POSIX shell.
func ShellQuote(s string) string {
	safe := s != "" && !strings.HasPrefix(s, "-")
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._+-", c)) {
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ErrText turns a market error into one line for the user: the message the
// market wrapped for people, without Go's noise.
func ErrText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, market.ErrInsufficientFunds):
		return "insufficient funds — nothing was charged"
	case errors.Is(err, market.ErrUnavailable):
		return fmt.Sprintf("the shop is busy or unavailable, try again (%v)", err)
	}
	// The sentinel's own word ("…: invalid") says nothing the message
	// before it has not said.
	msg := err.Error()
	for _, e := range []error{market.ErrInvalid, market.ErrForbidden, market.ErrNotFound} {
		if errors.Is(err, e) {
			if trimmed := strings.TrimSuffix(msg, ": "+e.Error()); trimmed != "" {
				msg = trimmed
			}
		}
	}
	return msg
}

// Block fits s into exactly height lines of at most width cells, padding
// with empty lines, so the layout below it never moves.
func Block(s string, width, height int) string {
	if height <= 0 {
		return ""
	}
	s = FitLines(s, width, height)
	n := strings.Count(s, "\n") + 1
	return s + strings.Repeat("\n", max(0, height-n))
}

// ParsePrice reads a price typed by the user, with the rule spelled out.
func ParsePrice(s string) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, ",", ""), "_", ""))
	s = strings.TrimSpace(strings.TrimSuffix(s, "sats"))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, errors.New("price must be a whole number ≥ 1")
	}
	if n > market.MaxPrice {
		return 0, fmt.Errorf("price must be at most %s", Sats(market.MaxPrice))
	}
	return n, nil
}

// Percent renders a share in [0, 1] with one decimal: "93.2%".
func Percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// When renders an instant to the minute, in UTC, the same for everyone.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// ShortHash shortens a hex digest for display: "1a2b3c4d5e6f…".
func ShortHash(h string) string {
	if len(h) <= 12 {
		return h
	}
	return h[:12] + "…"
}
