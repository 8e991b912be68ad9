package reports

import (
	"embed"
	"html/template"

	"github.com/lockstorm/lockstorm/checker"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/style.css
var styleCSS string

//go:embed assets/filter.js
var filterJS string

// pages holds every page template. The templates are part of the binary, so
// a parse error is a programming error caught by any test.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"pct":    pct,
	"fmtNs":  fmtNs,
	"inc":    func(i int) int { return i + 1 },
	"plural": checker.Plural,
}).ParseFS(templateFS, "templates/*.html"))

// Common is the data every page template needs: the embedded assets.
type Common struct {
	CSS template.CSS
	JS  template.JS
}

func common() Common {
	return Common{CSS: template.CSS(styleCSS), JS: template.JS(filterJS)}
}
