include $(sort $(wildcard $(BR2_EXTERNAL_CAMD_PATH)/package/*/*.mk))
