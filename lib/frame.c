// SPDX-License-Identifier: LGPL-2.1-or-later
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "frame.h"

_Static_assert(sizeof(struct bcfw_hdr) == BCFW_HDR_SIZE, "frame header");
_Static_assert(sizeof(struct bcfw_info) == 160, "GET_INFO body");

size_t bc_frame_build(void *buf, size_t cap, uint16_t opcode,
		      uint32_t session, const void *body, size_t body_len)
{
	struct bcfw_hdr h;

	if (body_len > UINT32_MAX - BCFW_HDR_SIZE ||
	    cap < BCFW_HDR_SIZE + body_len || (body_len && !body))
		return 0;
	memset(&h, 0, sizeof(h));
	h.magic = htole32(BCFW_MAGIC);
	h.version = BCFW_PROTO_VERSION;
	h.opcode = htole16(opcode);
	h.length = htole32((uint32_t)(BCFW_HDR_SIZE + body_len));
	h.session = htole32(session);
	memcpy(buf, &h, sizeof(h));
	if (body_len)
		memcpy((uint8_t *)buf + BCFW_HDR_SIZE, body, body_len);
	return BCFW_HDR_SIZE + body_len;
}

int bc_frame_req_peek(const void *req, size_t len, uint16_t *opcode,
		      uint32_t *session)
{
	struct bcfw_hdr h;

	if (len < BCFW_HDR_SIZE)
		return -EINVAL;
	memcpy(&h, req, sizeof(h));
	if (le32toh(h.magic) != BCFW_MAGIC || le32toh(h.length) != len)
		return -EINVAL;
	*opcode = le16toh(h.opcode);
	*session = le32toh(h.session);
	return 0;
}

int bc_frame_parse(const void *buf, size_t len, uint16_t opcode,
		   uint32_t session, struct bc_frame_view *out)
{
	struct bcfw_hdr h;

	if (len < BCFW_HDR_SIZE)
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.magic) != BCFW_MAGIC ||
	    h.version != BCFW_PROTO_VERSION || h.flags != 0 ||
	    h.reserved != 0 || le32toh(h.length) != len ||
	    le16toh(h.opcode) != opcode)
		return -EBADMSG;
	/*
	 * A header the firmware could not parse is answered before it knows
	 * the session, so only a well-formed answer must echo it.
	 */
	out->status = le32toh(h.status);
	if (out->status == BCFW_S_OK && le32toh(h.session) != session)
		return -EBADMSG;
	if (out->status != BCFW_S_OK && len != BCFW_HDR_SIZE)
		return -EBADMSG;
	out->opcode = opcode;
	out->session = le32toh(h.session);
	out->body = (const uint8_t *)buf + BCFW_HDR_SIZE;
	out->body_len = len - BCFW_HDR_SIZE;
	return 0;
}

int bc_chip_info_parse(const void *body, size_t len, struct bc_chip_info *out)
{
	struct bcfw_info w;

	if (len != sizeof(w))
		return -EBADMSG;
	memcpy(&w, body, sizeof(w));
	memcpy(out->serial, w.serial, sizeof(out->serial));
	memcpy(out->label, w.label, sizeof(out->label));
	memcpy(out->model, w.model, sizeof(out->model));
	memcpy(out->manufacturer, w.manufacturer, sizeof(out->manufacturer));
	out->fw_major = w.fw_major;
	out->fw_minor = w.fw_minor;
	out->hw_major = w.hw_major;
	out->hw_minor = w.hw_minor;
	out->max_sessions = le32toh(w.max_sessions);
	out->sessions_in_use = le32toh(w.sessions_in_use);
	out->max_objects = le32toh(w.max_objects);
	out->objects_in_use = le32toh(w.objects_in_use);
	out->max_frame = le32toh(w.max_frame);
	out->max_random = le32toh(w.max_random);
	/* Limits the rest of the stack divides by or sizes buffers from. */
	if (out->max_frame < BCFW_HDR_SIZE + sizeof(w) ||
	    out->max_frame > (1u << 20) || out->max_random == 0)
		return -EBADMSG;
	return 0;
}

void bc_field_to_str(char *out, const uint8_t *field, size_t len)
{
	size_t n = len;

	while (n && (field[n - 1] == ' ' || field[n - 1] == 0))
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = (field[i] >= 0x20 && field[i] < 0x7f) ?
			 (char)field[i] : '?';
	out[n] = 0;
}

const char *bc_fw_status_name(uint32_t status)
{
	static const char *const names[] = {
		[BCFW_S_OK] = "OK",
		[BCFW_S_BAD_FRAME] = "BAD_FRAME",
		[BCFW_S_BAD_VERSION] = "BAD_VERSION",
		[BCFW_S_BAD_OPCODE] = "BAD_OPCODE",
		[BCFW_S_BAD_ARGS] = "BAD_ARGS",
		[BCFW_S_DENIED] = "DENIED",
		[BCFW_S_SESSION_INVALID] = "SESSION_INVALID",
		[BCFW_S_SESSION_COUNT] = "SESSION_COUNT",
		[BCFW_S_TOO_BIG] = "TOO_BIG",
		[BCFW_S_INTERNAL] = "INTERNAL",
	};

	if (status < sizeof(names) / sizeof(names[0]))
		return names[status];
	return "UNKNOWN";
}
