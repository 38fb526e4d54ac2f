// Package commands is the scriptable face of the shop: `ssh shop.example
// ls --json` and friends. Every command takes --json and then prints exactly
// one JSON value; a failure prints one line on stderr and exits 1 (refused
// or invalid) or 2 (usage).
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitRefused = 1
	ExitUsage   = 2
)

// Env is what a command runs with. Actor is the session's account, decided
// from its key after the handshake.
type Env struct {
	Ctx    context.Context
	Market *market.Market
	Actor  *store.Account
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dial is how users reach this shop in examples, e.g. "ssh -p 2222 shop.example".
	Dial string
}

// usageError marks a command line the router could not make sense of.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Run executes one command line and returns its exit status.
func Run(env Env, args []string) int {
	root := newRoot(&env, args)
	root.SetArgs(protectNegatives(rejoinText(args)))
	err := root.ExecuteContext(env.Ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "error: "+oneLine(err.Error()))
	var u usageError
	if errors.As(err, &u) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitRefused
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Cobra reports these usage mistakes as plain errors.
var cobraUsage = regexp.MustCompile(`^(unknown command|unknown flag|unknown shorthand flag|flag needs an argument|invalid argument|accepts |requires |bad flag syntax)`)

func isCobraUsage(err error) bool { return cobraUsage.MatchString(err.Error()) }

// textFlags take free text. OpenSSH sends a command as one string with the
// caller's quotes gone ("--title Test Song"), so the words up to the next
// flag are joined back into the value. Quoting on the remote side
// ("ssh host \"upload 'a b.mp3'\"") works too.
var textFlags = map[string]bool{"--title": true, "--description": true, "--reason": true}

func rejoinText(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !textFlags[a] || i+1 >= len(args) {
			out = append(out, a)
			continue
		}
		words := []string{args[i+1]}
		j := i + 2
		for ; j < len(args) && !strings.HasPrefix(args[j], "--"); j++ {
			words = append(words, args[j])
		}
		out = append(out, a+"="+strings.Join(words, " "))
		i = j - 1
	}
	return out
}

var negativeNumber = regexp.MustCompile(`^-[0-9]+$`)

// protectNegatives moves "-5"-style arguments after a "--", so a negative
// price reaches the command (and is refused with a clear message) instead
// of being parsed as an unknown flag.
func protectNegatives(args []string) []string {
	var keep, negs []string
	for i, a := range args {
		if a == "--" {
			keep = append(keep, args[i:]...)
			break
		}
		prevWantsValue := i > 0 && strings.HasPrefix(args[i-1], "--") && !strings.Contains(args[i-1], "=") && args[i-1] != "--json" && args[i-1] != "--mine"
		if negativeNumber.MatchString(a) && !prevWantsValue {
			negs = append(negs, a)
			continue
		}
		keep = append(keep, a)
	}
	if len(negs) == 0 {
		return args
	}
	if !contains(keep, "--") {
		keep = append(keep, "--")
	}
	return append(keep, negs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// subcommands builds each command by the name (or alias) that runs it, so a
// session builds only the command it runs: building all thirty was about
// 6 % of the CPU of a purchase over SSH. Read only.
var subcommands = map[string]func(*Env) *cobra.Command{
	"whoami": whoamiCmd, "upload": uploadCmd, "ls": lsCmd, "show": showCmd, "price": priceCmd, "get": getCmd,
	"fetch": fetchCmd, "wallet": walletCmd, "history": historyCmd, "buy": buyCmd, "library": libraryCmd,
	"licence": licenceCmd, "license": licenceCmd, "ref": refCmd, "refs": refsCmd, "report": reportCmd,
	"matches": matchesCmd, "approve": approveCmd, "dismiss": dismissCmd, "claims": claimsCmd, "dispute": disputeCmd,
	"resolve": resolveCmd, "audit": auditCmd, "withdraw": withdrawCmd, "payouts": payoutsCmd,
	"payout-batch": payoutBatchCmd, "payout-submit": payoutSubmitCmd, "button": buttonCmd, "pair": pairCmd,
	"sessions": sessionsCmd, "revoke": revokeCmd, "receipt": receiptCmd,
}

// newRoot builds the command tree for args: the root with just the command
// args name, or with every command (help, a flag first, a mistake).
func newRoot(env *Env, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "shop",
		Short:         "shopfile: every file is its own shop",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().Bool("json", false, "print exactly one JSON value")
	if len(args) > 0 {
		if build, ok := subcommands[args[0]]; ok {
			root.AddCommand(build(env))
			return root
		}
	}
	for name, build := range subcommands {
		if cmd := build(env); cmd.Name() == name { // once each, not again by its alias
			root.AddCommand(cmd)
		}
	}
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q; try: help", args[0])
	}
	return nil
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("usage: %s %s", cmd.Name(), names)
		}
		return nil
	}
}

func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("usage: %s %s", cmd.Name(), names)
		}
		return nil
	}
}

func wantJSON(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

// emit prints v as one JSON value with --json, else the human form.
func emit(cmd *cobra.Command, v any, human func(w io.Writer)) error {
	w := cmd.OutOrStdout()
	if wantJSON(cmd) {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	human(w)
	return nil
}

func joinWords(args []string) string { return strings.Join(args, " ") }
