/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Firmware frames (uapi/linux/bcchip.h, docs/protocol.md): building
 * requests and validating responses.  Everything the chip or the emulator
 * sends back is untrusted input, so responses are checked field by field
 * before any of their bytes are believed.
 */
#ifndef BC_FRAME_H
#define BC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <linux/bcchip.h>

/* A response after validation; @body points into the caller's buffer. */
struct bc_frame_view {
	uint16_t opcode;
	uint32_t session;
	uint32_t status;
	const uint8_t *body;
	size_t body_len;
};

/* The chip's GET_INFO answer in host byte order. */
struct bc_chip_info {
	uint8_t serial[BCFW_SERIAL_LEN];	/* space padded */
	uint8_t label[BCFW_LABEL_LEN];
	uint8_t model[BCFW_MODEL_LEN];
	uint8_t manufacturer[BCFW_MANUF_LEN];
	uint8_t fw_major, fw_minor, hw_major, hw_minor;
	uint32_t max_sessions;
	uint32_t sessions_in_use;
	uint32_t max_objects;
	uint32_t objects_in_use;
	uint32_t max_frame;
	uint32_t max_random;
};

/*
 * Writes a request frame into @buf.  Returns the frame length, or 0 if it
 * does not fit in @cap or is longer than a frame can say.
 */
size_t bc_frame_build(void *buf, size_t cap, uint16_t opcode,
		      uint32_t session, const void *body, size_t body_len);

/* Opcode and session of a request frame built by bc_frame_build(). */
int bc_frame_req_peek(const void *req, size_t len, uint16_t *opcode,
		      uint32_t *session);

/*
 * Validates the response @buf[@len] to a request with @opcode and
 * @session: magic, version, zero flags and reserved, the opcode and
 * session echoed, length equal to the bytes received, no body on an error
 * status.  Returns 0, or -EBADMSG.
 */
int bc_frame_parse(const void *buf, size_t len, uint16_t opcode,
		   uint32_t session, struct bc_frame_view *out);

/* Decodes a GET_INFO body; -EBADMSG unless it is exactly one bcfw_info. */
int bc_chip_info_parse(const void *body, size_t len,
		       struct bc_chip_info *out);

/* Copies a space-padded field to a NUL-terminated string, trailing spaces
 * removed and anything unprintable shown as '?'.  @out holds @len + 1. */
void bc_field_to_str(char *out, const uint8_t *field, size_t len);

const char *bc_fw_status_name(uint32_t status);

#endif
