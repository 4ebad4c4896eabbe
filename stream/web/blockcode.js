// camd block code reader: finds the frame number and capture time that
// camd's test pattern stamps into every frame, so the page can measure
// glass-to-glass latency. A plain script (no modules, no build step); it
// defines globalThis.CamdBlockcode.
//
// It mirrors the Go reader, package capture/blockcode, step for step and
// with the same integer arithmetic, and agrees with it bit for bit on the
// same luma; the layout is documented there. Luma is taken from RGB as
// (77R + 150G + 29B) >> 8.
//
//   CamdBlockcode.rect(width, height) -> {x, y, w, h} or null
//     The area the code occupies in a frame of that size.
//   CamdBlockcode.read(imageData[, frameWidth, frameHeight]) -> {seq, timeMs} or null
//     imageData is a canvas ImageData (RGBA). Without frameWidth and
//     frameHeight it is the whole frame; with them it may be just the
//     top-left part of the frame that covers rect(frameWidth, frameHeight),
//     which is cheaper to fetch with getImageData. timeMs holds the low 40
//     bits of the capture time in Unix milliseconds; null means no code
//     that passes the checks.
//   CamdBlockcode.resolve(timeMs, nowMs) -> Unix milliseconds
//     The capture time nearest nowMs whose low 40 bits are timeMs.
(function () {
  'use strict';

  var COLS = 12, ROWS = 8, MARGIN = 16, MIN_CONTRAST = 48;
  var SYNC = [1, 1, 0, 1, 0, 0, 1, 0];
  var TWO40 = 1099511627776, TWO39 = 549755813888;

  function cellSize(width, height) {
    var k = Math.max(1, Math.min(Math.floor(width / 640), Math.floor(height / 360)));
    var c = 16 * k;
    if (width < COLS * c + 2 * MARGIN || height < ROWS * c + 2 * MARGIN) {
      return 0;
    }
    return c;
  }

  function rect(width, height) {
    var c = cellSize(width, height);
    if (c === 0) {
      return null;
    }
    return { x: 0, y: 0, w: COLS * c + 2 * MARGIN, h: ROWS * c + 2 * MARGIN };
  }

  function crc16(bytes, n) {
    var crc = 0xffff;
    for (var i = 0; i < n; i++) {
      crc ^= bytes[i] << 8;
      for (var k = 0; k < 8; k++) {
        crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      }
    }
    return crc;
  }

  function read(img, frameWidth, frameHeight) {
    var fw = frameWidth === undefined ? img.width : frameWidth;
    var fh = frameHeight === undefined ? img.height : frameHeight;
    var cs = cellSize(fw, fh);
    if (cs === 0 || img.width < COLS * cs + 2 * MARGIN || img.height < ROWS * cs + 2 * MARGIN) {
      return null;
    }
    var d = img.data, stride = img.width * 4;
    var half = cs >> 1, inset = cs >> 2, area = half * half;
    var means = new Array(ROWS * COLS);
    for (var r = 0; r < ROWS; r++) {
      for (var c = 0; c < COLS; c++) {
        var x0 = MARGIN + c * cs + inset, y0 = MARGIN + r * cs + inset, sum = 0;
        for (var y = y0; y < y0 + half; y++) {
          var p = y * stride + x0 * 4;
          for (var x = 0; x < half; x++, p += 4) {
            sum += (d[p] * 77 + d[p + 1] * 150 + d[p + 2] * 29) >> 8;
          }
        }
        means[r * COLS + c] = Math.floor(sum / area);
      }
    }
    var white = 0, black = 0;
    for (r = 0; r < ROWS; r++) {
      if (SYNC[r] === 1) {
        white += means[r * COLS];
      } else {
        black += means[r * COLS];
      }
    }
    white = Math.floor(white / 4);
    black = Math.floor(black / 4);
    var contrast = white - black;
    if (contrast < MIN_CONTRAST) {
      return null;
    }
    var thr = (white + black) >> 1, margin = contrast >> 3;
    var bytes = new Array(11).fill(0);
    for (r = 0; r < ROWS; r++) {
      for (c = 0; c < COLS; c++) {
        var m = means[r * COLS + c], bit;
        if (m > thr + margin) {
          bit = 1;
        } else if (m < thr - margin) {
          bit = 0;
        } else {
          return null;
        }
        if (c === 0) {
          if (bit !== SYNC[r]) {
            return null;
          }
          continue;
        }
        var i = r * (COLS - 1) + c - 1;
        bytes[i >> 3] |= bit << (7 - (i & 7));
      }
    }
    if (((bytes[9] << 8) | bytes[10]) !== crc16(bytes, 9)) {
      return null;
    }
    var seq = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    var t = 0;
    for (i = 4; i < 9; i++) {
      t = t * 256 + bytes[i];
    }
    return { seq: seq, timeMs: t };
  }

  function resolve(timeMs, nowMs) {
    var n = Math.floor(nowMs);
    var dd = ((timeMs - n) % TWO40 + TWO40) % TWO40;
    if (dd >= TWO39) {
      dd -= TWO40;
    }
    return n + dd;
  }

  globalThis.CamdBlockcode = { read: read, rect: rect, resolve: resolve };
})();
