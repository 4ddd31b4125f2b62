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
	"sort"
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
	{"bundle", "build, inspect, diff, sign or verify bundles (bundle build | inspect | diff | sign | verify)", runBundle},
	{"recommend", "ask recommender.wasm for recommendations", runRecommend},
	{"eval", "score models and baselines on a temporal split", runEval},
	{"parity", "write cross-host parity fixtures (requests and the wazero host's answers) for the JS loader", runParity},
	{"bench", "measure retrieval at scale: a synthetic catalog through the module and natively", runBench},
	{"import", "import towers trained elsewhere (safetensors or .npz + a tower spec) into a model directory", runImport},
	{"keygen", "create an Ed25519 key pair for signing bundles", runKeygen},
	{"serve", "serve recommendations over HTTP from recommender.wasm (the edge node)", runServe},
	{"loadtest", "load a local edgerec serve and report throughput and latency", runLoadtest},
}

// usageError marks bad usage: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "edgerec %s: %v\nRun 'edgerec %s --help' for usage.\n", c.name, err, c.name)
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

// newFlags returns a flag set whose usage names the command and describes it.
func newFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: edgerec %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and refuses positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseInterspersed parses args allowing positional arguments between
// flags (`inspect FILE --json` as well as `inspect --json FILE --public-key
// K`) and returns the positional ones in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
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
