package common

import (
	"strings"

	"github.com/shopfile/shopfile/store"
)

// GetCommands are the exact shell lines that fetch a bought shop: the
// plaintext in one step, or the sealed file plus a key slip opened offline
// with the buyer's own SSH key.
func GetCommands(dial string, actor *store.Account, shopID, name string) []string {
	out := "file"
	if name != "" {
		out = ShellQuote(name)
	}
	return []string{
		dial + " get " + shopID + " > " + out,
		dial + " fetch " + shopID + " > " + shopID + ".shop",
		dial + " licence " + shopID + " > " + shopID + ".slip",
		"shopfile open " + shopID + ".shop --licence " + shopID + ".slip --identity " + IdentityPath(actor),
	}
}

// IdentityPath guesses where the buyer keeps the private half of the key
// they logged in with, from its type, as ssh-keygen names it by default.
func IdentityPath(actor *store.Account) string {
	kind := ""
	if actor != nil {
		kind, _, _ = strings.Cut(actor.PublicKey, " ")
	}
	switch {
	case kind == "ssh-rsa":
		return "~/.ssh/id_rsa"
	case strings.HasPrefix(kind, "ecdsa-"):
		return "~/.ssh/id_ecdsa"
	case strings.HasPrefix(kind, "sk-ssh-ed25519"):
		return "~/.ssh/id_ed25519_sk"
	case strings.HasPrefix(kind, "sk-ecdsa"):
		return "~/.ssh/id_ecdsa_sk"
	}
	return "~/.ssh/id_ed25519"
}

// WrapCommand breaks a shell command at spaces to fit width, ending each
// broken line with " \" so the lines still paste into a shell as one
// command. Nothing is ever cut out of a command.
func WrapCommand(cmd string, width int) string {
	const indent = "    "
	words := strings.Fields(cmd)
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case Width(line)+1+Width(w)+2 <= width:
			line += " " + w
		default:
			lines = append(lines, line+" \\")
			line = indent + w
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// CommandsView shows how to get a file the session may read, the lines
// wrapped whole so they can be copied.
func CommandsView(c *Common, shopID, name string, width int) string {
	st := c.Styles
	lines := GetCommands(c.Dial, c.Actor, shopID, name)
	cmd := func(l string) string {
		return st.Command.Render("  " + strings.ReplaceAll(WrapCommand(l, width-2), "\n", "\n  "))
	}
	out := []string{st.Label.Render("get the file:"), cmd(lines[0]), st.Label.Render("or keep it sealed and open it with your key:")}
	for _, l := range lines[1:] {
		out = append(out, cmd(l))
	}
	return strings.Join(out, "\n")
}
