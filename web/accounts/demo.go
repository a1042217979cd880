package accounts

import "fmt"

// Demo returns a demo supervisor account with a freshly generated password,
// and that password, for the embedded mode where there is no accounts file.
func Demo() (Account, string) {
	password := GeneratePassword()
	hash, err := HashPassword(password)
	if err != nil {
		// HashPassword fails only if crypto/rand does, which since Go 1.24
		// crashes the program instead of returning an error.
		panic(fmt.Sprintf("demo account: %v", err))
	}
	return Account{
		Username:         "demo",
		Name:             "Demo",
		Role:             RoleSupervisor,
		PasswordHash:     hash,
		Languages:        []string{"nl", "en"},
		Audiences:        []string{"public", "professional"},
		MaxConversations: 3,
	}, password
}
