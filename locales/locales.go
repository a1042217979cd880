// Package locales holds the go-i18n message files of every language the
// service speaks, embedded in the binary. en.json is the reference locale:
// every other file must carry every key it has.
package locales

import "embed"

// FS holds one JSON message file per language, named <tag>.json.
//
//go:embed *.json
var FS embed.FS

// Reference is the locale every other locale is checked against.
const Reference = "en"
