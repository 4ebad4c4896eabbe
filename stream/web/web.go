// Package web holds camd's page: plain HTML, CSS and JavaScript embedded
// into the binary, with no build step. index.html plays the camera over
// WHEP and shows live stats; blockcode.js reads the test pattern's block
// code so the page can show glass-to-glass latency.
package web

import "embed"

// FS holds index.html, app.js, style.css, blockcode.js and control.js.
//
//go:embed index.html app.js style.css blockcode.js control.js
var FS embed.FS
