package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/advicechat/advicechat/web/accounts"
)

// minPasswordLength applies to passwords given on stdin; generated ones are
// longer.
const minPasswordLength = 12

const advisorUsage = `usage: advicechat advisor [-file PATH] COMMAND [flags] [USERNAME]

Commands:
  add [flags] USERNAME          add an account; -h for its flags
  remove USERNAME               remove an account
  list                          list accounts
  passwd [-password-stdin] USERNAME
                                set a new password

Without -password-stdin, add and passwd generate a password and print it once.
The accounts file is -file PATH, else $ADVICECHAT_ACCOUNTS, else accounts.json.
`

// errReported means the error was already printed (usage after -h).
var errReported = errors.New("already reported")

// usageError is a mistake in the command line: exit status 2, not 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// advisorCmd is one run of an advisor subcommand.
type advisorCmd struct {
	name   string // "advicechat advisor add", the prefix of error messages
	path   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	help   func() // prints usage after -h
}

// runAdvisor implements `advicechat advisor add|remove|list|passwd`. args
// are the arguments after "advisor". It returns the exit status: 0, 1 for a
// failure, 2 for a usage error. On any error the accounts file is unchanged.
func runAdvisor(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &advisorCmd{
		name:   "advicechat advisor",
		path:   getenv("ADVICECHAT_ACCOUNTS"),
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
	}
	if c.path == "" {
		c.path = "accounts.json"
	}
	fs := c.flagSet(advisorUsage)
	c.help = func() { fmt.Fprint(stderr, advisorUsage) } // it explains -file already
	rest, err := c.parse(fs, args)
	if err == nil && len(rest) == 0 {
		c.help()
		return 2
	}
	if err == nil {
		c.name += " " + rest[0]
		switch rest[0] {
		case "add":
			err = c.add(rest[1:])
		case "remove":
			err = c.remove(rest[1:])
		case "list":
			err = c.list(rest[1:])
		case "passwd":
			err = c.passwd(rest[1:])
		default:
			c.name = "advicechat advisor"
			err = usagef("unknown command %q (want add, remove, list or passwd)", rest[0])
		}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errReported):
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", c.name, err)
		return 1
	}
}

// flagSet returns a FlagSet with -file, which may come before or after the
// subcommand, and sets c.help to print usage and the flags. The FlagSet
// itself prints nothing, so that parse can report errors on one line.
func (c *advisorCmd) flagSet(usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.path, "file", c.path, "accounts `file`")
	c.help = func() {
		fmt.Fprint(c.stderr, usage)
		fs.SetOutput(c.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags and returns the remaining arguments.
func (c *advisorCmd) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help()
		return nil, errReported
	case err != nil:
		return nil, usageError{err}
	}
	return fs.Args(), nil
}

// parseUser parses flags followed by exactly one USERNAME, or none if
// wantUser is false.
func (c *advisorCmd) parseUser(fs *flag.FlagSet, args []string, wantUser bool) (string, error) {
	rest, err := c.parse(fs, args)
	if err != nil {
		return "", err
	}
	want := 0
	if wantUser {
		want = 1
	}
	switch {
	case len(rest) < want:
		return "", usagef("missing USERNAME")
	case len(rest) > want && strings.HasPrefix(rest[want], "-"):
		return "", usagef("unexpected argument %q (flags go before the username)", rest[want])
	case len(rest) > want:
		return "", usagef("unexpected argument %q", rest[want])
	case want == 0:
		return "", nil
	}
	return rest[0], nil
}

func (c *advisorCmd) add(args []string) error {
	fs := c.flagSet("usage: advicechat advisor add [flags] USERNAME\n")
	name := fs.String("name", "", "display `name` visitors see (default: the username)")
	role := fs.String("role", string(accounts.RoleAdvisor), "`role`: advisor or supervisor")
	languages := fs.String("languages", "nl", "comma-separated `languages`, from "+strings.Join(accounts.KnownLanguages, ","))
	audiences := fs.String("audiences", strings.Join(accounts.KnownAudiences, ","), "comma-separated `audiences`, from "+strings.Join(accounts.KnownAudiences, ","))
	maxConv := fs.Int("max", 3, fmt.Sprintf("most conversations at once (%d to %d)", accounts.MinConversations, accounts.MaxConversations))
	fromStdin := fs.Bool("password-stdin", false, fmt.Sprintf("read the password from the first line of stdin (at least %d characters)", minPasswordLength))
	username, err := c.parseUser(fs, args, true)
	if err != nil {
		return err
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return err
	}
	if _, ok := f.Find(username); ok {
		return fmt.Errorf("account %q already exists in %s", username, c.path)
	}
	password, generated, err := c.password(*fromStdin)
	if err != nil {
		return err
	}
	hash, err := accounts.HashPassword(password)
	if err != nil {
		return err
	}
	a := accounts.Account{
		Username:         username,
		Name:             *name,
		Role:             accounts.Role(*role),
		PasswordHash:     hash,
		Languages:        splitList(*languages),
		Audiences:        splitList(*audiences),
		MaxConversations: *maxConv,
	}
	if err := f.Add(a); err != nil {
		return flagError(err)
	}
	if err := f.Save(c.path); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added %s %s\n", a.Role, username)
	if generated {
		printPassword(c.stdout, username, password)
	}
	return nil
}

func (c *advisorCmd) remove(args []string) error {
	fs := c.flagSet("usage: advicechat advisor remove USERNAME\n")
	username, err := c.parseUser(fs, args, true)
	if err != nil {
		return err
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return err
	}
	a, ok := f.Find(username)
	if !ok {
		return fmt.Errorf("no account %q in %s", username, c.path)
	}
	if err := f.Remove(username); err != nil {
		return err
	}
	if err := f.Save(c.path); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "removed %s %s\n", a.Role, username)
	return nil
}

func (c *advisorCmd) list(args []string) error {
	fs := c.flagSet("usage: advicechat advisor list\n")
	if _, err := c.parseUser(fs, args, false); err != nil {
		return err
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return err
	}
	if len(f.Accounts) == 0 {
		fmt.Fprintf(c.stdout, "no accounts in %s\n", c.path)
		return nil
	}
	list := slices.Clone(f.Accounts)
	slices.SortFunc(list, func(a, b accounts.Account) int { return strings.Compare(a.Username, b.Username) })
	// Validate rejects control characters in names, so tabs cannot break
	// the table.
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tLANGUAGES\tAUDIENCES\tMAX")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", a.Username, a.Name, a.Role,
			strings.Join(a.Languages, ","), strings.Join(a.Audiences, ","), a.MaxConversations)
	}
	return tw.Flush()
}

func (c *advisorCmd) passwd(args []string) error {
	fs := c.flagSet("usage: advicechat advisor passwd [-password-stdin] USERNAME\n")
	fromStdin := fs.Bool("password-stdin", false, fmt.Sprintf("read the password from the first line of stdin (at least %d characters)", minPasswordLength))
	username, err := c.parseUser(fs, args, true)
	if err != nil {
		return err
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return err
	}
	if _, ok := f.Find(username); !ok {
		return fmt.Errorf("no account %q in %s", username, c.path)
	}
	password, generated, err := c.password(*fromStdin)
	if err != nil {
		return err
	}
	hash, err := accounts.HashPassword(password)
	if err != nil {
		return err
	}
	if err := f.SetPassword(username, hash); err != nil {
		return err
	}
	if err := f.Save(c.path); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "changed password for %s\n", username)
	if generated {
		printPassword(c.stdout, username, password)
	}
	return nil
}

// password reads the password from the first line of stdin, or generates one
// if fromStdin is false.
func (c *advisorCmd) password(fromStdin bool) (password string, generated bool, err error) {
	if !fromStdin {
		return accounts.GeneratePassword(), true, nil
	}
	if c.stdin == nil {
		return "", false, errors.New("-password-stdin: no stdin")
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("-password-stdin: read: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if n := utf8.RuneCountInString(line); n < minPasswordLength {
		return "", false, fmt.Errorf("-password-stdin: password has %d characters, want at least %d", n, minPasswordLength)
	}
	return line, false, nil
}

func printPassword(w io.Writer, username, password string) {
	fmt.Fprintf(w, "password for %s: %s (shown once; store it safely)\n", username, password)
}

// splitList splits "nl, en" into ["nl" "en"]; an empty string gives none,
// which validation then rejects.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// flagFields maps account fields to the flags of `advisor add` that set them.
var flagFields = map[string]string{
	"username":          "USERNAME",
	"name":              "-name",
	"role":              "-role",
	"languages":         "-languages",
	"audiences":         "-audiences",
	"max_conversations": "-max",
}

// flagError turns an invalid account field into a usage error naming the
// flag, e.g. `-languages: unknown language "xx" (known: ...)`.
func flagError(err error) error {
	var fe *accounts.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	name, ok := flagFields[fe.Field]
	if !ok {
		return err
	}
	return usageError{fmt.Errorf("%s: %w", name, fe.Err)}
}
