// Package blockcode stamps a machine-readable code into video frames and
// reads it back, so that a viewer can tell which frame it is looking at and
// when it was captured, and so measure glass-to-glass latency. The code is
// built to survive H.264 at a few hundred kbit/s: a few large black and
// white cells aligned to the 16x16 macroblocks, read by their centres.
//
// # Layout
//
// The code sits in the top-left corner of the frame. Its cell size C, in
// pixels, follows from the frame size:
//
//	k = min(width/640, height/360) (integer division), at least 1
//	C = 16*k	(16 at 640x480, 32 at 1280x720, 48 at 1920x1080)
//
// The code's rectangle (Rect) is a grid of 12 columns by 8 rows of C x C
// cells inside a 16-pixel quiet zone of luma 128, so it spans
// (12C+32) x (8C+32) pixels from (0,0); the cell in column c and row r has
// its top-left corner at (16+c*C, 16+r*C). Every edge is a multiple of 16.
// A frame smaller than the rectangle carries no code.
//
// A white cell has luma 235, a black one luma 16 (video range). Chroma under
// the whole rectangle is 128, so the code is grey on any decoder and in any
// colour conversion.
//
// Column 0 is the sync column: from top to bottom white, white, black,
// white, black, black, white, black. Its four white and four black cells
// give the reader its reference levels, and the asymmetric pattern rejects
// a mirrored or absent code.
//
// Columns 1 to 11 hold 88 data bits, row by row (row 0 columns 1..11 first),
// white for 1: eleven bytes, most significant bit first, which are
//
//	bytes 0-3   Seq, big-endian
//	bytes 4-8   the low 40 bits of TimeMs (Unix milliseconds), big-endian
//	bytes 9-10  CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xffff,
//	            no reflection, no final XOR) of bytes 0-8, big-endian
//
// # Reading
//
// A reader measures each cell's mean luma over its centre: the C/2 x C/2
// square starting C/4 pixels inside the cell, with integer sums and
// truncating division, leaving the edges, where compression and
// deblocking smear neighbours together, out. From the sync cells it takes W,
// the truncated mean of the four white cells' means, and B, that of the four
// black ones. It rejects the frame unless W-B is at least 48. The threshold
// is T = (W+B)/2 and the margin M = (W-B)/8 (both truncated); a cell whose
// mean is above T+M is white, below T-M black, and anything in between
// makes the frame unreadable rather than guessed. The sync cells must read as
// their pattern and the CRC must match, or the frame is rejected. A wrong
// code is thus very unlikely (a misread has to pass eight sync cells and a
// 16-bit CRC); an unreadable frame is simply skipped.
//
// TimeMs wraps every 2^40 ms (about 34.8 years), so a reader reconstructs
// the full capture time as the time nearest its own clock whose low 40 bits
// match (Code.Resolve). The page's reader, stream/web/blockcode.js, follows
// the same steps with luma computed from RGB as (77R+150G+29B)>>8, and
// agrees with Read bit for bit.
package blockcode
