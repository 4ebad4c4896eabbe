package encode

// levelLimit is a row of ITU-T H.264 Table A-1 (level limits).
type levelLimit struct {
	idc     uint8 // level_idc: 31 for level 3.1
	maxMBPS int   // macroblocks per second
	maxFS   int   // macroblocks per frame
	maxBR   int   // bit rate, in 1000 bit/s for the VCL (cpbBrVclFactor)
}

var levelLimits = [...]levelLimit{
	{10, 1485, 99, 64},
	{11, 3000, 396, 192},
	{12, 6000, 396, 384},
	{13, 11880, 396, 768},
	{20, 11880, 396, 2000},
	{21, 19800, 792, 4000},
	{22, 20250, 1620, 4000},
	{30, 40500, 1620, 10000},
	{31, 108000, 3600, 14000},
	{32, 216000, 5120, 20000},
	{40, 245760, 8192, 20000},
	{41, 245760, 8192, 50000},
	{42, 522240, 8704, 50000},
	{50, 589824, 22080, 135000},
	{51, 983040, 36864, 240000},
	{52, 2073600, 36864, 240000},
}

// levelFor returns the lowest level whose frame size and macroblock rate
// admit w×h pictures at fps, or the highest level.
func levelFor(w, h int, fps float64) levelLimit {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	for _, l := range levelLimits {
		if mbs <= l.maxFS && float64(mbs)*fps <= float64(l.maxMBPS) {
			return l
		}
	}
	return levelLimits[len(levelLimits)-1]
}

// levelBitrate is the highest bitrate, in bit/s, at which openh264 keeps
// the level that the picture size and frame rate call for. Above it,
// openh264 raises level_idc and starts over with an IDR, even while
// streaming (as of openh264 2.1.1 it compares against MaxBR×1200, the NAL
// HRD bound, measured 2026-11), and a stream above level 3.1 may exceed
// what a browser negotiated (42e01f).
func levelBitrate(w, h int, fps float64) int {
	return levelFor(w, h, fps).maxBR * 1200
}
