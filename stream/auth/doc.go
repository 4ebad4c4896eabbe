// Package auth guards camd's HTTP endpoints with a bearer token: it makes
// and keeps the token (at least 128 random bits, in a 0600 file in camd's
// state directory, written atomically), checks it in constant time, and
// slows down guessing with a per-address limit on failed attempts.
//
// Two levels: View (the video, the status API) may be opened to everyone
// by configuration; Control (the DataChannels that drive serial ports and
// drones) always needs the token. The token travels as
// "Authorization: Bearer <token>" (RFC 6750 §2.1); the page takes it from
// the "#token=" fragment of its URL, which browsers never send to a server.
package auth
