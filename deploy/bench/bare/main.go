// Command bare is the baseline of the gate's throughput benchmark
// (deploy/bench/gate-wrk.sh): a bare echo server answering a constant small
// JSON, so the gate's figure can be read against what the same machine, HTTP
// stack and load tool manage with no work at all.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18081", "listen address")
	flag.Parse()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/ok", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"decision": "ship", "allowed": true})
	})
	log.Fatal(e.Start(*addr))
}
