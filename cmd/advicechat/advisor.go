package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"

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
  totp [-png FILE] USERNAME     enrol a new TOTP second factor (replaces the old one)

Without -password-stdin, add and passwd generate a password and print it once.
A second factor is required to log in unless the service runs with its
embedded Redis (demo mode): enrol with add -totp or with totp.
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

// runAdvisor implements `advicechat advisor add|remove|list|passwd|totp`. args
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
		case "totp":
			err = c.totp(rest[1:])
		default:
			c.name = "advicechat advisor"
			err = usagef("unknown command %q (want add, remove, list, passwd or totp)", rest[0])
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
	fromStdin := fs.Bool("password-stdin", false, fmt.Sprintf("read the password from the first line of stdin (at least %d characters; not a common password, nor holding the username)", minPasswordLength))
	withTOTP := fs.Bool("totp", false, "enrol a TOTP second factor at once (see the totp command)")
	pngPath := fs.String("png", "", "with -totp: also write the QR code to this PNG `file` (mode 0600)")
	username, err := c.parseUser(fs, args, true)
	if err != nil {
		return err
	}
	if *pngPath != "" && !*withTOTP {
		return usagef("-png needs -totp")
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return err
	}
	if _, ok := f.Find(username); ok {
		return fmt.Errorf("account %q already exists in %s", username, c.path)
	}
	password, generated, err := c.password(username, *fromStdin)
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
	var key *otp.Key
	if *withTOTP {
		if key, err = c.enrol(f, username, *pngPath); err != nil {
			return err
		}
	}
	if err := f.Save(c.path); err != nil {
		removePNG(*pngPath)
		return err
	}
	fmt.Fprintf(c.stdout, "added %s %s\n", a.Role, username)
	if generated {
		printPassword(c.stdout, username, password)
	}
	if key != nil {
		return c.printTOTP(key, username, *pngPath)
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
	fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tLANGUAGES\tAUDIENCES\tMAX\tTOTP")
	for _, a := range list {
		// Whether a second factor is enrolled, never the secret.
		hasTOTP := "no"
		if a.TOTPSecret != "" {
			hasTOTP = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.Username, a.Name, a.Role,
			strings.Join(a.Languages, ","), strings.Join(a.Audiences, ","), a.MaxConversations, hasTOTP)
	}
	return tw.Flush()
}

// existing parses a command's flags and its username argument and loads
// the accounts file, which must have that account.
func (c *advisorCmd) existing(fs *flag.FlagSet, args []string) (*accounts.File, string, error) {
	username, err := c.parseUser(fs, args, true)
	if err != nil {
		return nil, "", err
	}
	f, err := accounts.Load(c.path)
	if err != nil {
		return nil, "", err
	}
	if _, ok := f.Find(username); !ok {
		return nil, "", fmt.Errorf("no account %q in %s", username, c.path)
	}
	return f, username, nil
}

func (c *advisorCmd) passwd(args []string) error {
	fs := c.flagSet("usage: advicechat advisor passwd [-password-stdin] USERNAME\n")
	fromStdin := fs.Bool("password-stdin", false, fmt.Sprintf("read the password from the first line of stdin (at least %d characters; not a common password, nor holding the username)", minPasswordLength))
	f, username, err := c.existing(fs, args)
	if err != nil {
		return err
	}
	password, generated, err := c.password(username, *fromStdin)
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

func (c *advisorCmd) totp(args []string) error {
	fs := c.flagSet("usage: advicechat advisor totp [-png FILE] USERNAME\n\n" +
		"Makes a new TOTP secret for the account, replacing any old one, and shows it\n" +
		"as text, as an otpauth:// URL and as a QR code to scan with an authenticator app.\n")
	pngPath := fs.String("png", "", "also write the QR code to this PNG `file` (mode 0600)")
	f, username, err := c.existing(fs, args)
	if err != nil {
		return err
	}
	key, err := c.enrol(f, username, *pngPath)
	if err != nil {
		return err
	}
	if err := f.Save(c.path); err != nil {
		removePNG(*pngPath)
		return err
	}
	fmt.Fprintf(c.stdout, "enrolled a new second factor for %s\n", username)
	return c.printTOTP(key, username, *pngPath)
}

// enrol gives username a new TOTP secret in f and writes the PNG, if asked
// for. The caller saves f.
func (c *advisorCmd) enrol(f *accounts.File, username, pngPath string) (*otp.Key, error) {
	key, err := accounts.GenerateTOTP(username)
	if err != nil {
		return nil, err
	}
	if err := f.SetTOTP(username, key.Secret()); err != nil {
		return nil, err
	}
	if pngPath != "" {
		if err := writeQRPNG(pngPath, key.URL()); err != nil {
			return nil, fmt.Errorf("-png: %w", err)
		}
	}
	return key, nil
}

// printTOTP shows a new second factor: the secret to type in, the URL and
// the QR code to scan.
func (c *advisorCmd) printTOTP(key *otp.Key, username, pngPath string) error {
	fmt.Fprintf(c.stdout, "TOTP secret for %s: %s\n", username, key.Secret())
	fmt.Fprintf(c.stdout, "otpauth URL: %s\n", key.URL())
	fmt.Fprintln(c.stdout, "Scan this QR code with an authenticator app, or type in the secret:")
	if err := writeQRText(c.stdout, key.URL()); err != nil {
		return err
	}
	if pngPath != "" {
		fmt.Fprintf(c.stdout, "QR code written to %s; delete it once scanned: it holds the secret.\n", pngPath)
	}
	fmt.Fprintln(c.stdout, "Clear this screen once the code is scanned.")
	return nil
}

// password reads the password from the first line of stdin, or generates one
// if fromStdin is false. One from stdin must be long enough and pass
// accounts.CheckPassword (not common, not the username); it is checked
// before anything is written.
func (c *advisorCmd) password(username string, fromStdin bool) (password string, generated bool, err error) {
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
	if err := accounts.CheckPassword(username, line); err != nil {
		return "", false, fmt.Errorf("-password-stdin: %w; choose another, or leave out -password-stdin for a generated one", err)
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

// qrQuiet is the margin around a QR code, in modules: the standard asks for
// 4, scanners read phone screens with less.
const qrQuiet = 2

// qrMatrix encodes content as a QR code and returns its modules, true for
// dark, with the quiet zone around it.
func qrMatrix(content string) ([][]bool, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("QR code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx() + 2*qrQuiet
	m := make([][]bool, n)
	for y := range m {
		m[y] = make([]bool, n)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m[y-b.Min.Y+qrQuiet][x-b.Min.X+qrQuiet] = color.GrayModel.Convert(code.At(x, y)).(color.Gray).Y < 0x80
		}
	}
	return m, nil
}

// writeQRText draws a QR code with Unicode half blocks, two modules per
// character cell. Light modules are drawn, dark ones left blank, so on the
// usual light-on-dark terminal the code is dark on light as scanners
// expect; on a dark-on-light terminal use -png instead.
func writeQRText(w io.Writer, content string) error {
	m, err := qrMatrix(content)
	if err != nil {
		return err
	}
	var b strings.Builder
	for y := 0; y < len(m); y += 2 {
		for x := range m[y] {
			top := !m[y][x]
			bottom := y+1 < len(m) && !m[y+1][x]
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// qrPNGScale is the size of one module in the PNG, in pixels.
const qrPNGScale = 8

// writeQRPNG writes a QR code as a black-on-white PNG with mode 0600: it
// holds the TOTP secret.
func writeQRPNG(path, content string) error {
	m, err := qrMatrix(content)
	if err != nil {
		return err
	}
	n := len(m) * qrPNGScale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			v := uint8(0xff)
			if m[y/qrPNGScale][x/qrPNGScale] {
				v = 0
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

func removePNG(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}
