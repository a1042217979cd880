package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// File is the contents of the accounts file.
type File struct {
	Accounts []Account `json:"accounts"`
}

// Load reads and validates the accounts file at path. A missing or empty
// file holds no accounts. Errors name the file, and the line or the account
// that is wrong.
//
// A file that group or others may write is refused (ErrUnsafeMode). The
// mode is read from the open file, so what is checked is what is read,
// even if the file is replaced at that moment.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	if err := checkMode(path, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("load accounts %s: %w", path, err)
	}
	return f, nil
}

// ErrUnsafeMode: the accounts file may be written by group or others. It
// holds the password hashes and TOTP secrets and is re-read while the
// service runs, so whoever may write it may add an advisor.
var ErrUnsafeMode = errors.New("is writable by group or others")

// checkMode refuses an accounts file that group or others may write. Read
// bits are let through: container secrets are often mounted 0644, and
// reading gives no way in (the hashes are argon2id).
func checkMode(path string, mode fs.FileMode) error {
	if perm := mode.Perm(); perm&0o022 != 0 {
		return fmt.Errorf("accounts file %s: mode %04o %w; chmod 600 it", path, perm, ErrUnsafeMode)
	}
	return nil
}

func parse(data []byte) (*File, error) {
	var f File
	if len(bytes.TrimSpace(data)) == 0 {
		return &f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// The file is edited by hand too; a misspelt field must not silently
	// fall back to its zero value.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		offset := dec.InputOffset()
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			offset = syntaxErr.Offset
		case errors.As(err, &typeErr):
			offset = typeErr.Offset
		}
		return nil, fmt.Errorf("line %d: %w", lineAt(data, offset), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: unexpected data after the accounts object", lineAt(data, dec.InputOffset()))
	}
	for i, a := range f.Accounts {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("account %d (%q): %w", i+1, a.Username, err)
		}
		if slices.ContainsFunc(f.Accounts[:i], func(b Account) bool { return b.Username == a.Username }) {
			return nil, fmt.Errorf("account %d (%q): username listed twice", i+1, a.Username)
		}
	}
	return &f, nil
}

func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// Save validates f and writes it to path with mode 0600. It writes a
// temporary file in the same directory and renames it over path, so the
// server re-reading the file never sees half of it.
func (f *File) Save(path string) (err error) {
	for i, a := range f.Accounts {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("save accounts %s: account %d (%q): %w", path, i+1, a.Username, err)
		}
	}
	out := File{Accounts: f.Accounts}
	if out.Accounts == nil {
		out.Accounts = []Account{} // "[]" reads better than "null" when editing by hand
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	data = append(data, '\n')

	dir := filepath.Dir(path)
	// CreateTemp makes the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save accounts %s: %w", path, err)
	}
	// Sync the directory so the rename itself survives a crash. Best effort:
	// the file is already complete and in place if this fails.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Find returns the account with the given username.
func (f *File) Find(username string) (Account, bool) {
	i := f.index(username)
	if i < 0 {
		return Account{}, false
	}
	return f.Accounts[i].clone(), true
}

func (f *File) index(username string) int {
	return slices.IndexFunc(f.Accounts, func(a Account) bool { return a.Username == username })
}

// Add validates a and appends it. An empty Name defaults to the Username.
func (f *File) Add(a Account) error {
	if a.Name == "" {
		a.Name = a.Username
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("add account %q: %w", a.Username, err)
	}
	if f.index(a.Username) >= 0 {
		return fmt.Errorf("add account %q: username already taken", a.Username)
	}
	f.Accounts = append(f.Accounts, a.clone())
	return nil
}

// Remove deletes the account with the given username. An unknown username
// is an error wrapping ErrNotFound.
func (f *File) Remove(username string) error {
	i := f.index(username)
	if i < 0 {
		return fmt.Errorf("remove account %q: %w", username, ErrNotFound)
	}
	f.Accounts = slices.Delete(f.Accounts, i, i+1)
	return nil
}

// SetPassword replaces the password hash of an account. hash must be a PHC
// string from HashPassword. An unknown username is an error wrapping
// ErrNotFound.
func (f *File) SetPassword(username, hash string) error {
	i := f.index(username)
	if i < 0 {
		return fmt.Errorf("set password of %q: %w", username, ErrNotFound)
	}
	if _, err := parsePHC(hash); err != nil {
		return fmt.Errorf("set password of %q: %w", username, err)
	}
	f.Accounts[i].PasswordHash = hash
	return nil
}

// SetTOTP replaces the TOTP secret of an account; "" removes it. An unknown
// username is an error wrapping ErrNotFound.
func (f *File) SetTOTP(username, secret string) error {
	i := f.index(username)
	if i < 0 {
		return fmt.Errorf("set TOTP secret of %q: %w", username, ErrNotFound)
	}
	if secret != "" {
		if err := validateTOTPSecret(secret); err != nil {
			return fmt.Errorf("set TOTP secret of %q: %w", username, err)
		}
	}
	f.Accounts[i].TOTPSecret = secret
	return nil
}
