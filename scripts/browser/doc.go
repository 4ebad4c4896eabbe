// Package browser drives a headless Chromium over the DevTools protocol
// (CDP), for camd's end-to-end tests and benchmarks: a test starts a
// browser, opens pages on a camd instance, evaluates JavaScript in them
// (getStats, the page's own counters) and takes screenshots.
//
// The browser is started with --remote-debugging-pipe: it reads commands
// from fd 3 and writes responses and events to fd 4, each message a JSON
// object ended by a NUL byte. Pages are attached in flat mode, so one pipe
// carries every session and messages name their session with "sessionId".
// See https://chromedevtools.github.io/devtools-protocol/ for the methods.
//
// Only the standard library is used. Chromium comes from the system
// (Debian: apt-get install chromium) or from $CAMD_CHROMIUM; see Find.
package browser
