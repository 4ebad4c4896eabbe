// Runs stream/web/blockcode.js over frames written by js_test.go and prints
// one JSON line per frame. Usage: node harness.js blockcode.js frames.bin
'use strict';
const fs = require('fs');
const path = require('path');
require(path.resolve(process.argv[2]));
const buf = fs.readFileSync(process.argv[3]);
const out = [];
for (let off = 0; off < buf.length;) {
  const fw = buf.readUInt32LE(off), fh = buf.readUInt32LE(off + 4);
  const iw = buf.readUInt32LE(off + 8), ih = buf.readUInt32LE(off + 12);
  off += 16;
  const data = new Uint8ClampedArray(buf.buffer, buf.byteOffset + off, iw * ih * 4);
  off += iw * ih * 4;
  const img = { width: iw, height: ih, data: data };
  const code = (iw === fw && ih === fh) ? CamdBlockcode.read(img) : CamdBlockcode.read(img, fw, fh);
  out.push(JSON.stringify({ code: code, rect: CamdBlockcode.rect(fw, fh) }));
}
for (const [low, now] of [[5, 1763899200000], [650488372323, 1750000000100], [1099511627775, 1099511627776 * 3 + 2]]) {
  out.push(JSON.stringify({ resolve: CamdBlockcode.resolve(low, now) }));
}
process.stdout.write(out.join('\n') + '\n');
