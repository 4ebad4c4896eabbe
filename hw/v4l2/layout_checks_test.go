//go:build linux

package v4l2

import "unsafe"

// layoutCheck pairs a C expression over <linux/videodev2.h> with the Go
// value that must equal it.
type layoutCheck struct {
	c     string
	goVal uint64
}

func sz(c string, v uintptr) layoutCheck { return layoutCheck{"sizeof(struct " + c + ")", uint64(v)} }

func off(c, field string, v uintptr) layoutCheck {
	return layoutCheck{"offsetof(struct " + c + ", " + field + ")", uint64(v)}
}

func num(c string, v uint64) layoutCheck { return layoutCheck{c, v} }

func layoutChecks() []layoutCheck {
	var (
		capb  rawCapability
		fd    rawFmtDesc
		fse   rawFrmSizeEnum
		fie   rawFrmIvalEnum
		pix   rawPixFormat
		ppf   rawPlanePixFormat
		mp    rawPixFormatMplane
		f     rawFormat
		cp    rawCaptureParm
		sp    rawStreamParm
		rb    rawRequestBuffers
		pl    rawPlane
		b     rawBuffer
		eb    rawExportBuffer
		qc    rawQueryCtrl
		qe    rawQueryExtCtrl
		qm    rawQueryMenu
		ec    rawExtControl
		ecs   rawExtControls
		es    rawEventSubscription
		ev    rawEvent
		cmd   rawEncoderCmd
		dcmd  rawDecoderCmd
		in    rawInput
		bt    rawBTTimings
		dv    rawDVTimings
		edv   rawEnumDVTimings
		tc    rawTimecode
		tv    timeval
		tspec timespec
		sel   rawSelection
	)
	return []layoutCheck{
		sz("v4l2_capability", unsafe.Sizeof(capb)),
		off("v4l2_capability", "capabilities", unsafe.Offsetof(capb.Capabilities)),
		off("v4l2_capability", "device_caps", unsafe.Offsetof(capb.DeviceCaps)),
		sz("v4l2_fmtdesc", unsafe.Sizeof(fd)),
		off("v4l2_fmtdesc", "pixelformat", unsafe.Offsetof(fd.PixelFormat)),
		off("v4l2_fmtdesc", "mbus_code", unsafe.Offsetof(fd.MbusCode)),
		sz("v4l2_frmsizeenum", unsafe.Sizeof(fse)),
		off("v4l2_frmsizeenum", "discrete", unsafe.Offsetof(fse.U)),
		off("v4l2_frmsizeenum", "stepwise.step_height", unsafe.Offsetof(fse.U)+20),
		off("v4l2_frmsizeenum", "reserved", unsafe.Offsetof(fse.Reserved)),
		sz("v4l2_frmivalenum", unsafe.Sizeof(fie)),
		off("v4l2_frmivalenum", "discrete", unsafe.Offsetof(fie.U)),
		off("v4l2_frmivalenum", "stepwise.step", unsafe.Offsetof(fie.U)+16),
		off("v4l2_frmivalenum", "reserved", unsafe.Offsetof(fie.Reserved)),
		sz("v4l2_pix_format", unsafe.Sizeof(pix)),
		off("v4l2_pix_format", "bytesperline", unsafe.Offsetof(pix.BytesPerLine)),
		off("v4l2_pix_format", "ycbcr_enc", unsafe.Offsetof(pix.YCbCrEnc)),
		off("v4l2_pix_format", "xfer_func", unsafe.Offsetof(pix.XferFunc)),
		sz("v4l2_plane_pix_format", unsafe.Sizeof(ppf)),
		sz("v4l2_pix_format_mplane", unsafe.Sizeof(mp)),
		off("v4l2_pix_format_mplane", "plane_fmt", unsafe.Offsetof(mp.PlaneFmt)),
		off("v4l2_pix_format_mplane", "num_planes", unsafe.Offsetof(mp.NumPlanes)),
		off("v4l2_pix_format_mplane", "xfer_func", unsafe.Offsetof(mp.XferFunc)),
		sz("v4l2_format", unsafe.Sizeof(f)),
		off("v4l2_format", "fmt", unsafe.Offsetof(f.Fmt)),
		sz("v4l2_captureparm", unsafe.Sizeof(cp)),
		sz("v4l2_outputparm", unsafe.Sizeof(cp)),
		off("v4l2_captureparm", "timeperframe", unsafe.Offsetof(cp.TimePerFrame)),
		off("v4l2_outputparm", "timeperframe", unsafe.Offsetof(cp.TimePerFrame)),
		off("v4l2_captureparm", "readbuffers", unsafe.Offsetof(cp.ReadBuffers)),
		sz("v4l2_streamparm", unsafe.Sizeof(sp)),
		off("v4l2_streamparm", "parm", unsafe.Offsetof(sp.Parm)),
		sz("v4l2_requestbuffers", unsafe.Sizeof(rb)),
		off("v4l2_requestbuffers", "capabilities", unsafe.Offsetof(rb.Capabilities)),
		off("v4l2_requestbuffers", "flags", unsafe.Offsetof(rb.Flags)),
		sz("v4l2_timecode", unsafe.Sizeof(tc)),
		sz("v4l2_plane", unsafe.Sizeof(pl)),
		off("v4l2_plane", "m", unsafe.Offsetof(pl.M)),
		off("v4l2_plane", "data_offset", unsafe.Offsetof(pl.DataOffset)),
		sz("v4l2_buffer", unsafe.Sizeof(b)),
		off("v4l2_buffer", "field", unsafe.Offsetof(b.Field)),
		off("v4l2_buffer", "timestamp", unsafe.Offsetof(b.Timestamp)),
		off("v4l2_buffer", "timecode", unsafe.Offsetof(b.Timecode)),
		off("v4l2_buffer", "sequence", unsafe.Offsetof(b.Sequence)),
		off("v4l2_buffer", "memory", unsafe.Offsetof(b.Memory)),
		off("v4l2_buffer", "m", unsafe.Offsetof(b.M)),
		off("v4l2_buffer", "length", unsafe.Offsetof(b.Length)),
		off("v4l2_buffer", "request_fd", unsafe.Offsetof(b.RequestFD)),
		num("sizeof(((struct v4l2_buffer *)0)->timestamp)", uint64(unsafe.Sizeof(tv))),
		num("sizeof(((struct v4l2_buffer *)0)->m)", uint64(unsafe.Sizeof(b.M))),
		sz("v4l2_exportbuffer", unsafe.Sizeof(eb)),
		off("v4l2_exportbuffer", "fd", unsafe.Offsetof(eb.FD)),
		sz("v4l2_queryctrl", unsafe.Sizeof(qc)),
		off("v4l2_queryctrl", "minimum", unsafe.Offsetof(qc.Minimum)),
		off("v4l2_queryctrl", "flags", unsafe.Offsetof(qc.Flags)),
		sz("v4l2_query_ext_ctrl", unsafe.Sizeof(qe)),
		off("v4l2_query_ext_ctrl", "minimum", unsafe.Offsetof(qe.Minimum)),
		off("v4l2_query_ext_ctrl", "default_value", unsafe.Offsetof(qe.DefaultValue)),
		off("v4l2_query_ext_ctrl", "flags", unsafe.Offsetof(qe.Flags)),
		off("v4l2_query_ext_ctrl", "dims", unsafe.Offsetof(qe.Dims)),
		sz("v4l2_querymenu", unsafe.Sizeof(qm)),
		off("v4l2_querymenu", "name", unsafe.Offsetof(qm.Name)),
		off("v4l2_querymenu", "reserved", unsafe.Offsetof(qm.Reserved)),
		sz("v4l2_control", unsafe.Sizeof(rawControl{})),
		sz("v4l2_ext_control", unsafe.Sizeof(ec)),
		off("v4l2_ext_control", "value", unsafe.Offsetof(ec.Value)),
		off("v4l2_ext_control", "value64", unsafe.Offsetof(ec.Value)),
		sz("v4l2_ext_controls", unsafe.Sizeof(ecs)),
		off("v4l2_ext_controls", "count", unsafe.Offsetof(ecs.Count)),
		off("v4l2_ext_controls", "request_fd", unsafe.Offsetof(ecs.RequestFD)),
		off("v4l2_ext_controls", "controls", unsafe.Offsetof(ecs.Controls)),
		sz("v4l2_event_subscription", unsafe.Sizeof(es)),
		sz("v4l2_event", unsafe.Sizeof(ev)),
		off("v4l2_event", "u", unsafe.Offsetof(ev.U)),
		off("v4l2_event", "pending", unsafe.Offsetof(ev.Pending)),
		off("v4l2_event", "timestamp", unsafe.Offsetof(ev.Timestamp)),
		off("v4l2_event", "id", unsafe.Offsetof(ev.ID)),
		num("sizeof(struct timespec)", uint64(unsafe.Sizeof(tspec))),
		off("v4l2_event_ctrl", "value64", 8),
		off("v4l2_event_ctrl", "flags", 16),
		sz("v4l2_encoder_cmd", unsafe.Sizeof(cmd)),
		off("v4l2_encoder_cmd", "raw.data", unsafe.Offsetof(cmd.Data)),
		sz("v4l2_input", unsafe.Sizeof(in)),
		off("v4l2_input", "std", unsafe.Offsetof(in.Std)),
		off("v4l2_input", "status", unsafe.Offsetof(in.Status)),
		off("v4l2_input", "capabilities", unsafe.Offsetof(in.Capabilities)),
		sz("v4l2_bt_timings", unsafe.Sizeof(bt)),
		off("v4l2_bt_timings", "pixelclock", unsafe.Offsetof(bt.Pixelclock)),
		off("v4l2_bt_timings", "hfrontporch", unsafe.Offsetof(bt.HFrontPorch)),
		off("v4l2_bt_timings", "flags", unsafe.Offsetof(bt.Flags)),
		off("v4l2_bt_timings", "cea861_vic", unsafe.Offsetof(bt.CEA861VIC)),
		sz("v4l2_dv_timings", unsafe.Sizeof(dv)),
		off("v4l2_dv_timings", "bt", unsafe.Offsetof(dv.BT)),
		sz("v4l2_enum_dv_timings", unsafe.Sizeof(edv)),
		off("v4l2_enum_dv_timings", "timings", unsafe.Offsetof(edv.Timings)),

		num("VIDIOC_QUERYCAP", uint64(vidiocQueryCap)),
		num("VIDIOC_ENUM_FMT", uint64(vidiocEnumFmt)),
		num("VIDIOC_G_FMT", uint64(vidiocGFmt)),
		num("VIDIOC_S_FMT", uint64(vidiocSFmt)),
		num("VIDIOC_REQBUFS", uint64(vidiocReqBufs)),
		num("VIDIOC_QUERYBUF", uint64(vidiocQueryBuf)),
		num("VIDIOC_QBUF", uint64(vidiocQBuf)),
		num("VIDIOC_EXPBUF", uint64(vidiocExpBuf)),
		num("VIDIOC_DQBUF", uint64(vidiocDQBuf)),
		num("VIDIOC_STREAMON", uint64(vidiocStreamOn)),
		num("VIDIOC_STREAMOFF", uint64(vidiocStreamOff)),
		num("VIDIOC_G_PARM", uint64(vidiocGParm)),
		num("VIDIOC_S_PARM", uint64(vidiocSParm)),
		num("VIDIOC_ENUMINPUT", uint64(vidiocEnumInput)),
		num("VIDIOC_G_CTRL", uint64(vidiocGCtrl)),
		num("VIDIOC_S_CTRL", uint64(vidiocSCtrl)),
		num("VIDIOC_QUERYCTRL", uint64(vidiocQueryCtrl)),
		num("VIDIOC_QUERYMENU", uint64(vidiocQueryMenu)),
		num("VIDIOC_G_INPUT", uint64(vidiocGInput)),
		num("VIDIOC_S_INPUT", uint64(vidiocSInput)),
		num("VIDIOC_TRY_FMT", uint64(vidiocTryFmt)),
		num("VIDIOC_G_EXT_CTRLS", uint64(vidiocGExtCtrls)),
		num("VIDIOC_S_EXT_CTRLS", uint64(vidiocSExtCtrls)),
		num("VIDIOC_TRY_EXT_CTRLS", uint64(vidiocTryExtCtrls)),
		num("VIDIOC_ENUM_FRAMESIZES", uint64(vidiocEnumFrameSizes)),
		num("VIDIOC_ENUM_FRAMEINTERVALS", uint64(vidiocEnumFrameInterval)),
		num("VIDIOC_ENCODER_CMD", uint64(vidiocEncoderCmd)),
		num("VIDIOC_TRY_ENCODER_CMD", uint64(vidiocTryEncoderCmd)),
		num("VIDIOC_DECODER_CMD", uint64(vidiocDecoderCmd)),
		num("VIDIOC_TRY_DECODER_CMD", uint64(vidiocTryDecoderCmd)),
		sz("v4l2_decoder_cmd", unsafe.Sizeof(dcmd)),
		off("v4l2_decoder_cmd", "raw", unsafe.Offsetof(dcmd.Data)),
		num("VIDIOC_S_DV_TIMINGS", uint64(vidiocSDVTimings)),
		num("VIDIOC_G_DV_TIMINGS", uint64(vidiocGDVTimings)),
		num("VIDIOC_DQEVENT", uint64(vidiocDQEvent)),
		num("VIDIOC_SUBSCRIBE_EVENT", uint64(vidiocSubscribeEvent)),
		num("VIDIOC_UNSUBSCRIBE_EVENT", uint64(vidiocUnsubscribeEvent)),
		num("VIDIOC_ENUM_DV_TIMINGS", uint64(vidiocEnumDVTimings)),
		num("VIDIOC_QUERY_DV_TIMINGS", uint64(vidiocQueryDVTimings)),
		num("VIDIOC_QUERY_EXT_CTRL", uint64(vidiocQueryExtCtrl)),
		num("VIDIOC_G_SELECTION", uint64(vidiocGSelection)),
		num("VIDIOC_S_SELECTION", uint64(vidiocSSelection)),
		num("V4L2_SEL_TGT_CROP", SelTgtCrop),
		num("V4L2_SEL_TGT_COMPOSE", SelTgtCompose),
		sz("v4l2_rect", unsafe.Sizeof(rawRect{})),
		sz("v4l2_selection", unsafe.Sizeof(sel)),
		off("v4l2_selection", "r", unsafe.Offsetof(sel.R)),
		off("v4l2_selection", "reserved", unsafe.Offsetof(sel.Reserved)),

		num("V4L2_CAP_VIDEO_CAPTURE", uint64(CapVideoCapture)),
		num("V4L2_CAP_VIDEO_OUTPUT", uint64(CapVideoOutput)),
		num("V4L2_CAP_VIDEO_CAPTURE_MPLANE", uint64(CapVideoCaptureMPlane)),
		num("V4L2_CAP_VIDEO_OUTPUT_MPLANE", uint64(CapVideoOutputMPlane)),
		num("V4L2_CAP_VIDEO_M2M_MPLANE", uint64(CapVideoM2MMPlane)),
		num("V4L2_CAP_VIDEO_M2M", uint64(CapVideoM2M)),
		num("V4L2_CAP_META_CAPTURE", uint64(CapMetaCapture)),
		num("V4L2_CAP_READWRITE", uint64(CapReadWrite)),
		num("V4L2_CAP_STREAMING", uint64(CapStreaming)),
		num("V4L2_CAP_DEVICE_CAPS", uint64(CapDeviceCaps)),
		num("V4L2_BUF_TYPE_VIDEO_CAPTURE", uint64(BufTypeVideoCapture)),
		num("V4L2_BUF_TYPE_VIDEO_OUTPUT", uint64(BufTypeVideoOutput)),
		num("V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE", uint64(BufTypeVideoCaptureMPlane)),
		num("V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE", uint64(BufTypeVideoOutputMPlane)),
		num("V4L2_MEMORY_MMAP", uint64(MemoryMMAP)),
		num("V4L2_MEMORY_DMABUF", uint64(MemoryDMABUF)),
		num("V4L2_BUF_FLAG_MAPPED", uint64(BufFlagMapped)),
		num("V4L2_BUF_FLAG_QUEUED", uint64(BufFlagQueued)),
		num("V4L2_BUF_FLAG_DONE", uint64(BufFlagDone)),
		num("V4L2_BUF_FLAG_KEYFRAME", uint64(BufFlagKeyframe)),
		num("V4L2_BUF_FLAG_PFRAME", uint64(BufFlagPFrame)),
		num("V4L2_BUF_FLAG_ERROR", uint64(BufFlagError)),
		num("V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC", uint64(BufFlagTimestampMonotonic)),
		num("V4L2_BUF_FLAG_TIMESTAMP_COPY", uint64(BufFlagTimestampCopy)),
		num("V4L2_BUF_FLAG_LAST", uint64(BufFlagLast)),
		num("V4L2_FIELD_ANY", FieldAny),
		num("V4L2_FIELD_NONE", FieldNone),
		num("V4L2_FRMSIZE_TYPE_DISCRETE", FrmSizeDiscrete),
		num("V4L2_FRMSIZE_TYPE_CONTINUOUS", FrmSizeContinuous),
		num("V4L2_FRMSIZE_TYPE_STEPWISE", FrmSizeStepwise),
		num("V4L2_FRMIVAL_TYPE_DISCRETE", FrmSizeDiscrete),
		num("V4L2_FRMIVAL_TYPE_CONTINUOUS", FrmSizeContinuous),
		num("V4L2_FRMIVAL_TYPE_STEPWISE", FrmSizeStepwise),
		num("V4L2_CTRL_TYPE_INTEGER", uint64(CtrlInteger)),
		num("V4L2_CTRL_TYPE_BOOLEAN", uint64(CtrlBoolean)),
		num("V4L2_CTRL_TYPE_MENU", uint64(CtrlMenu)),
		num("V4L2_CTRL_TYPE_BUTTON", uint64(CtrlButton)),
		num("V4L2_CTRL_TYPE_INTEGER64", uint64(CtrlInteger64)),
		num("V4L2_CTRL_TYPE_CTRL_CLASS", uint64(CtrlClass)),
		num("V4L2_CTRL_TYPE_STRING", uint64(CtrlString)),
		num("V4L2_CTRL_TYPE_BITMASK", uint64(CtrlBitmask)),
		num("V4L2_CTRL_TYPE_INTEGER_MENU", uint64(CtrlIntegerMenu)),
		num("V4L2_CTRL_FLAG_DISABLED", CtrlFlagDisabled),
		num("V4L2_CTRL_FLAG_READ_ONLY", CtrlFlagReadOnly),
		num("V4L2_CTRL_FLAG_INACTIVE", CtrlFlagInactive),
		num("V4L2_CTRL_FLAG_NEXT_CTRL", CtrlFlagNextCtrl),
		num("V4L2_CTRL_FLAG_NEXT_COMPOUND", CtrlFlagNextComp),
		num("V4L2_CID_MIN_BUFFERS_FOR_CAPTURE", CIDMinBuffersForCapture),
		num("V4L2_CID_MIN_BUFFERS_FOR_OUTPUT", CIDMinBuffersForOutput),
		num("V4L2_CID_MPEG_VIDEO_GOP_SIZE", CIDGOPSize),
		num("V4L2_CID_MPEG_VIDEO_BITRATE_MODE", CIDBitrateMode),
		num("V4L2_CID_MPEG_VIDEO_BITRATE", CIDBitrate),
		num("V4L2_CID_MPEG_VIDEO_BITRATE_PEAK", CIDBitratePeak),
		num("V4L2_CID_MPEG_VIDEO_FRAME_RC_ENABLE", CIDFrameRCEnable),
		num("V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER", CIDRepeatSeqHeader),
		num("V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME", CIDForceKeyFrame),
		num("V4L2_CID_MPEG_VIDEO_H264_MIN_QP", CIDH264MinQP),
		num("V4L2_CID_MPEG_VIDEO_H264_MAX_QP", CIDH264MaxQP),
		num("V4L2_CID_MPEG_VIDEO_H264_I_PERIOD", CIDH264IPeriod),
		num("V4L2_CID_MPEG_VIDEO_H264_LEVEL", CIDH264Level),
		num("V4L2_CID_MPEG_VIDEO_H264_PROFILE", CIDH264Profile),
		num("V4L2_CID_FWHT_I_FRAME_QP", CIDFWHTIFrameQP),
		num("V4L2_CID_FWHT_P_FRAME_QP", CIDFWHTPFrameQP),
		num("V4L2_MPEG_VIDEO_BITRATE_MODE_VBR", BitrateModeVBR),
		num("V4L2_MPEG_VIDEO_BITRATE_MODE_CBR", BitrateModeCBR),
		num("V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE", H264ProfileBaseline),
		num("V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE", H264ProfileConstrainedBaseline),
		num("V4L2_MPEG_VIDEO_H264_PROFILE_MAIN", H264ProfileMain),
		num("V4L2_MPEG_VIDEO_H264_PROFILE_HIGH", H264ProfileHigh),
		num("V4L2_EVENT_EOS", EventEOS),
		num("V4L2_EVENT_CTRL", EventCtrl),
		num("V4L2_EVENT_SOURCE_CHANGE", EventSourceChange),
		num("V4L2_ENC_CMD_START", EncCmdStart),
		num("V4L2_ENC_CMD_STOP", EncCmdStop),
		num("V4L2_DEC_CMD_START", DecCmdStart),
		num("V4L2_DEC_CMD_STOP", DecCmdStop),
		num("V4L2_EVENT_SRC_CH_RESOLUTION", SrcChResolution),
		num("V4L2_INPUT_TYPE_CAMERA", InputTypeCamera),
		num("V4L2_IN_CAP_DV_TIMINGS", InputCapDVTimings),
		num("V4L2_DV_BT_656_1120", dvBT6561120),
		num("VIDEO_MAX_PLANES", maxPlanes),
		num("V4L2_PIX_FMT_YUV420", uint64(PixYUV420)),
		num("V4L2_PIX_FMT_NV12", uint64(PixNV12)),
		num("V4L2_PIX_FMT_YUYV", uint64(PixYUYV)),
		num("V4L2_PIX_FMT_MJPEG", uint64(PixMJPEG)),
		num("V4L2_PIX_FMT_JPEG", uint64(PixJPEG)),
		num("V4L2_PIX_FMT_H264", uint64(PixH264)),
		num("V4L2_PIX_FMT_FWHT", uint64(PixFWHT)),
	}
}
