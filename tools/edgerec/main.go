// Command edgerec trains two-tower recommenders, builds the bundles that
// recommender.wasm serves, and asks the module for recommendations.
//
// Run `edgerec help` for the commands and `edgerec COMMAND --help` for the
// flags of each. Exit status: 0 ok, 1 failure, 2 bad usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"synth", "write a deterministic synthetic data set", runSynth},
	{"train", "train the two towers on a data set", runTrain},
	{"tune", "choose the training hyperparameters on a validation split (successive halving)", runTune},
	{"bundle", "build, inspect, diff, upgrade, sign or verify bundles (bundle build | inspect | diff | upgrade | sign | verify)", runBundle},
	{"recommend", "ask recommender.wasm for recommendations", runRecommend},
	{"eval", "score models and baselines on a temporal split", runEval},
	{"parity", "write cross-host parity fixtures (requests and the wazero host's answers) for the JS loader", runParity},
	{"bench", "measure retrieval at scale: a synthetic catalog through the module and natively", runBench},
	{"import", "import towers trained elsewhere (safetensors or .npz + a tower spec) into a model directory", runImport},
	{"keygen", "create an Ed25519 key pair for signing bundles", runKeygen},
	{"serve", "serve recommendations over HTTP from recommender.wasm (the edge node)", runServe},
	{"loadtest", "load a local edgerec serve and report throughput and latency", runLoadtest},
	{"report", "report each experiment arm's take rate with its interval from stored events", runReport},
	{"sim", "simulate users with hidden tastes against a local edge node with two arms, and check the report finds the better one", runSim},
}

// usageError marks bad usage: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// flagError is a usage error in a command's flags: hint, when set, is a
// line printed after the error ("Did you mean --bundle?"), and cmd the
// command whose --help the pointer names ("bundle build").
type flagError struct {
	*usageError
	hint, cmd string
}

func (e *flagError) Unwrap() error { return e.usageError }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// inCommand makes a usage error of the subcommand cmd ("bundle build")
// point at that subcommand's --help, whose page lists its flags; other
// errors, and usage errors that name their command already, pass
// unchanged.
func inCommand(err error, cmd string) error {
	var ue *usageError
	if fe := (*flagError)(nil); errors.As(err, &fe) || !errors.As(err, &ue) {
		return err
	}
	return &flagError{usageError: ue, cmd: cmd}
}

// helpRequest is the usage page a --help asked for: run prints it on
// stdout with exit status 0, where the page can be piped and searched.
// Usage printed because of an error goes to stderr instead.
type helpRequest struct{ page string }

func (*helpRequest) Error() string { return "help requested" }
func (*helpRequest) Unwrap() error { return flag.ErrHelp }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	isHelp := func(a string) bool { return a == "help" || a == "-h" || a == "--help" }
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 1 && !isHelp(args[1]) {
			// `help bundle build` is `bundle build --help`.
			return run(append(slices.Clone(args[1:]), "--help"), stdout, stderr)
		}
		if len(args) == 0 {
			// No command is bad usage: the list goes with the error output.
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue *usageError
		var help *helpRequest
		switch {
		case errors.As(err, &help):
			fmt.Fprint(stdout, help.page)
			return 0
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			// The error, perhaps a hint, and one line pointing at --help:
			// the whole usage would scroll the error away.
			name, hint := c.name, ""
			if fe := (*flagError)(nil); errors.As(err, &fe) {
				name, hint = fe.cmd, fe.hint
			}
			fmt.Fprintf(stderr, "edgerec %s: %v\n", name, err)
			if hint != "" {
				fmt.Fprintln(stderr, hint)
			}
			fmt.Fprintf(stderr, "Run 'edgerec %s --help' for usage.\n", name)
			return 2
		default:
			fmt.Fprintf(stderr, "edgerec %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "edgerec: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "edgerec: a two-tower recommender that serves from one WebAssembly module.\n\nUsage:\n  edgerec COMMAND [flags]\n\nCommands:\n")
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range commands {
			if c.name == n {
				fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
			}
		}
	}
	fmt.Fprintf(w, "\nRun 'edgerec COMMAND --help' for a command's flags.\n")
}

// newFlags returns a flag set whose usage names the command and describes
// it, written to the flag set's output. The flag package's own messages
// are silenced (parse reports errors); --help returns the usage as a
// *helpRequest, which run prints on stdout.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: edgerec %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		printFlags(w, fs)
	}
	return fs
}

// printFlags lists the flags of fs as the README writes them, with two
// dashes, and their defaults as typed: a float32 setting held in a float64
// flag prints as 0.003, not 0.003000000026077032.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		usage = strings.ReplaceAll(usage, "\n", "\n    \t")
		if def := defaultText(f); def != "" {
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, usage)
	})
}

// defaultText is f's default as --help shows it: "" for a zero value,
// quoted for a string, the shortest form for a float.
func defaultText(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return ""
	}
	type boolFlag interface{ IsBoolFlag() bool }
	if b, ok := f.Value.(boolFlag); ok && b.IsBoolFlag() {
		return f.DefValue
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case string:
			return strconv.Quote(v)
		case float64:
			return formatFloat(v)
		}
	}
	return f.DefValue
}

// formatFloat prints v in the fewest digits that read back as v, or as
// float32(v) when v came from a float32 (the training configuration's
// types).
func formatFloat(v float64) string {
	if float64(float32(v)) == v {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// parse parses args and refuses positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseFlags is fs.Parse returning the usage for --help only, as a
// *helpRequest: on any other error the flag package would print it too,
// and scroll the error away. An error is returned as parseError makes it.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		var page strings.Builder
		out := fs.Output()
		fs.SetOutput(&page)
		usage()
		fs.SetOutput(out)
		return &helpRequest{page.String()}
	}
	return parseError(fs, err)
}

// parseError turns an error of fs.Parse other than ErrHelp into a usage
// error that writes flags with two dashes and, for an unknown flag,
// suggests the closest one.
func parseError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	fe := &flagError{usageError: &usageError{msg}, cmd: fs.Name()}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		fe.msg = "unknown flag --" + name
		if s := suggestFlag(fs, name); s != "" {
			fe.hint = "Did you mean --" + s + "?"
		}
		return fe
	}
	// "flag needs an argument: -k", "invalid value \"x\" for flag -k: ...".
	for _, p := range []string{"argument: -", "for flag -"} {
		if i := strings.Index(msg, p); i >= 0 {
			fe.msg = msg[:i+len(p)] + "-" + msg[i+len(p):]
			break
		}
	}
	return fe
}

// suggestFlag returns the flag of fs closest to the mistyped name, or ""
// when none is close: at most two edits (a transposition counts as one),
// or a name the mistyped one is a prefix of.
func suggestFlag(fs *flag.FlagSet, name string) string {
	name = strings.TrimLeft(name, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		d := editDistance(name, f.Name)
		if len(name) >= 3 && strings.HasPrefix(f.Name, name) {
			d = min(d, 1)
		}
		if d < bestD && d <= max(1, len(f.Name)/3) {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and transpositions of neighbours.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// parseInterspersed parses args allowing positional arguments between
// flags (`inspect FILE --json` as well as `inspect --json FILE --public-key
// K`) and returns the positional ones in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseFile parses args holding flags and exactly one positional FILE,
// anywhere among the flags; what names the action for the error.
func parseFile(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	switch {
	case err != nil:
		return "", err
	case len(pos) == 0:
		return "", usagef("want the bundle FILE to %s", what)
	case len(pos) > 1:
		return "", usagef("unexpected argument %q", pos[1])
	}
	return pos[0], nil
}

// required reports the first empty flag among names.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return usagef("--%s is required", n)
		}
	}
	return nil
}
