// Package capture holds the sources that produce frames for camd: the
// moving test pattern (with a machine-readable block code for measuring
// glass-to-glass latency), H.264 Annex-B files, and, as they land, V4L2
// cameras, subprocesses and the Tello's video.
//
// Every source implements Source: it runs at its own pace and hands frames
// to a consumer that never slows it down. Queue is the hand-off that drops
// frames a slow consumer could not take, and counts them.
//
// Sources that pace themselves (the pattern, files) schedule frame n at
// n/fps after they start, skip rather than burst after a stall, and take a
// Clock so that tests can drive them with capturetest's fake. Subpackage
// h264 splits and inspects Annex-B streams; blockcode draws and reads the
// pattern's latency code.
package capture
