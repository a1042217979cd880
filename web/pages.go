package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/advicechat/advicechat/locales"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/hours"
)

var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// languageNames are the languages' own names, for the language switch.
var languageNames = map[string]string{
	"nl": "Nederlands",
	"en": "English",
	"ar": "العربية",
	"tr": "Türkçe",
	"pl": "Polski",
	"uk": "Українська",
}

// rtl lists the languages written right to left.
var rtl = map[string]bool{"ar": true}

// defaultLanguage is shown when the browser asks for nothing we speak.
const defaultLanguage = "nl"

type langLink struct {
	Code, Name string
	Dir        string // of the name, which stays readable inside a page in the other direction
	Current    bool
}

// page is the data of every template.
type page struct {
	Lang       string
	Dir        string
	Languages  []langLink
	T          map[string]string
	ExitURL    string
	Version    string
	LoginError bool
	// LoginCode: the login form asks for a TOTP code. Not in the embedded
	// demo mode, whose one account has no second factor.
	LoginCode bool

	// The visitor page's opening state (see hours.go). Open and
	// AdvisorsOnDuty are true on every other page.
	Open           bool
	NextOpen       string // when it opens again, in the page's language; "" if not within 14 days
	ClosedNotice   string // the sentence that says so
	Alternatives   hours.Alternatives
	AdvisorsOnDuty bool
	// RetentionSeconds is how long an ended conversation stays, so the
	// visitor's page offers to keep it only while it can.
	RetentionSeconds int
}

// pages renders the HTML pages in every language. All texts are localized
// once at start; a request only picks a language.
type pages struct {
	tmpl    *template.Template
	langs   []string // supported, default first
	matcher language.Matcher
	texts   map[string]map[string]string
	// localizers render the few messages whose data changes per request.
	localizers map[string]*i18n.Localizer
	cfg        Config
	// loginCode says whether the login form asks for a code; the server
	// sets it on its first advisor page, which knows the accounts. Unset,
	// the form asks.
	loginCode atomic.Pointer[func() bool]
}

// Messages loads every locale file and returns, per language, every
// message localized with data. It is what the pages use and what the
// locale tests check.
func Messages(data map[string]any) (map[string]map[string]string, error) {
	bundle, ids, tags, err := loadBundle()
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(tags))
	for _, tag := range tags {
		loc := i18n.NewLocalizer(bundle, tag)
		texts := make(map[string]string, len(ids))
		for _, id := range ids {
			s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
			if err != nil {
				return nil, fmt.Errorf("locale %s: message %s: %w", tag, id, err)
			}
			texts[id] = s
		}
		out[tag] = texts
	}
	return out, nil
}

// loadBundle parses every locale file; it returns the message ids and the
// language tags found.
func loadBundle() (*i18n.Bundle, []string, []string, error) {
	bundle := i18n.NewBundle(language.MustParse(locales.Reference))
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(locales.FS, "*.json")
	if err != nil {
		return nil, nil, nil, err
	}
	seen := map[string]bool{}
	var ids, tags []string
	for _, f := range files {
		b, err := fs.ReadFile(locales.FS, f)
		if err != nil {
			return nil, nil, nil, err
		}
		mf, err := bundle.ParseMessageFileBytes(b, f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("locale %s: %w", f, err)
		}
		for _, m := range mf.Messages {
			if !seen[m.ID] {
				seen[m.ID] = true
				ids = append(ids, m.ID)
			}
		}
		tags = append(tags, strings.TrimSuffix(path.Base(f), ".json"))
	}
	return bundle, ids, tags, nil
}

func newPages(cfg Config) (*pages, error) {
	// Per-request values stay placeholders in the static texts.
	// KeepDays and QuestionDays: how long a thread kept under a return code
	// lives (ADVICECHAT_KEEP), and an unanswered question
	// (ADVICECHAT_QUESTION_KEEP), in whole days, for the privacy page.
	days := func(d time.Duration) int { return max(1, int((d+12*time.Hour)/(24*time.Hour))) }
	questionKeep := cfg.QuestionKeep
	if questionKeep <= 0 {
		questionKeep = DefaultQuestionKeep
	}
	texts, err := Messages(map[string]any{
		"RetentionMinutes": int(cfg.Retention.Minutes()),
		"KeepDays":         days(cfg.Keep),
		"QuestionDays":     days(questionKeep),
		"When":             "{when}",
	})
	if err != nil {
		return nil, err
	}
	bundle, _, _, err := loadBundle()
	if err != nil {
		return nil, err
	}
	localizers := make(map[string]*i18n.Localizer, len(texts))
	for l := range texts {
		localizers[l] = i18n.NewLocalizer(bundle, l)
	}
	langs := make([]string, 0, len(texts))
	for l := range texts {
		if l != defaultLanguage {
			langs = append(langs, l)
		}
	}
	sort.Strings(langs)
	langs = append([]string{defaultLanguage}, langs...)
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.MustParse(l)
	}
	tmpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return &pages{tmpl: tmpl, langs: langs, matcher: language.NewMatcher(tags), texts: texts, localizers: localizers, cfg: cfg}, nil
}

// language picks the page language: ?lang= when we speak it, else the
// browser's Accept-Language, else Dutch. Nothing of either is kept.
func (p *pages) language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); p.texts[l] != nil {
		return l
	}
	_, i, conf := p.matcher.Match(parseAccept(r.Header.Get("Accept-Language"))...)
	if conf == language.No {
		return defaultLanguage
	}
	return p.langs[i]
}

func parseAccept(h string) []language.Tag {
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return nil
	}
	return tags
}

// Supports reports whether lang is a language the pages speak.
func (p *pages) supports(lang string) bool { return p.texts[lang] != nil }

func (p *pages) render(c *echo.Context, status int, name string, lang string, loginError bool) error {
	data := p.data(lang)
	data.LoginError = loginError
	data.LoginCode = true
	if f := p.loginCode.Load(); f != nil {
		data.LoginCode = (*f)()
	}
	return p.write(c, status, name, data)
}

// data is the template data every page starts from.
func (p *pages) data(lang string) page {
	data := page{
		Lang:           lang,
		Dir:            "ltr",
		T:              p.texts[lang],
		ExitURL:        p.cfg.ExitURL,
		Version:        p.cfg.Version,
		Open:           true,
		AdvisorsOnDuty: true,

		RetentionSeconds: int(p.cfg.Retention.Seconds()),
	}
	if rtl[lang] {
		data.Dir = "rtl"
	}
	for _, l := range p.langs {
		name := languageNames[l]
		if name == "" {
			name = l
		}
		dir := "ltr"
		if rtl[l] {
			dir = "rtl"
		}
		data.Languages = append(data.Languages, langLink{Code: l, Name: name, Dir: dir, Current: l == lang})
	}
	return data
}

func (p *pages) html(name string, data page) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func (p *pages) write(c *echo.Context, status int, name string, data page) error {
	b, err := p.html(name, data)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Language", data.Lang)
	return c.HTMLBlob(status, b)
}

func (s *Server) visitorPage(c *echo.Context) error {
	lang := s.pages.language(c.Request())
	data := s.pages.data(lang)
	s.hoursState(c.Request().Context(), &data)
	return s.pages.write(c, http.StatusOK, "visitor.html", data)
}

func (s *Server) privacyPage(c *echo.Context) error {
	return s.pages.render(c, http.StatusOK, "privacy.html", s.pages.language(c.Request()), false)
}

func staticHandler() echo.HandlerFunc {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	// Through Echo rather than http.FileServer: its error pages would drop
	// the Cache-Control header.
	return func(c *echo.Context) error {
		name := path.Clean(c.Param("*"))
		if name == "." || strings.HasPrefix(name, "..") || strings.HasPrefix(name, "/") {
			return echo.ErrNotFound
		}
		return c.FileFS(name, sub)
	}
}

// advisorPage serves the console, or the login form to whoever is not
// logged in.
func (s *Server) advisorPage(c *echo.Context) error {
	if s.pages.loginCode.Load() == nil {
		f := s.loginAsksCode
		s.pages.loginCode.CompareAndSwap(nil, &f)
	}
	lang := s.pages.language(c.Request())
	_, _, err := s.auth.Session(c)
	switch {
	case errors.Is(err, auth.ErrNoSession):
		return s.pages.render(c, http.StatusOK, "login.html", lang, false)
	case err != nil:
		return err
	}
	return s.pages.render(c, http.StatusOK, "advisor.html", lang, false)
}

// loginAsksCode reports whether the login form needs a TOTP field: always
// where every account must have one, and otherwise unless the only
// account is the embedded demo advisor, who has none.
func (s *Server) loginAsksCode() bool {
	if s.cfg.RequireTOTP || s.accounts == nil || s.accounts.Count() != 1 {
		return true
	}
	demo, ok := s.accounts.Lookup("demo")
	return !ok || demo.TOTPSecret != ""
}
