// Package deps pins the chosen dependencies while the packages that use them
// are being written. It is removed once every one is imported for real.
package deps

import (
	_ "github.com/VictoriaMetrics/metrics"
	_ "github.com/labstack/echo/v4"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/prometheus/client_golang/api"
	_ "github.com/prometheus/client_golang/api/prometheus/v1"
	_ "github.com/prometheus/common/config"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/prometheus/common/model"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "github.com/prometheus/prometheus/model/textparse"
	_ "github.com/prometheus/prometheus/promql/parser"
	_ "github.com/rickar/cal/v2"
	_ "github.com/rickar/cal/v2/de"
	_ "github.com/rickar/cal/v2/us"
	_ "gopkg.in/yaml.v3"
)
