// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the DER of the project's certificate extensions
 * (docs/attestation.md): one element at a time, each checked against
 * what the structure says comes next, none trusted beyond its length.
 */
#include <string.h>

#include <openssl/asn1.h>

#include "bcctl.h"

/* One DER element of @tag at *p; its contents in *c, *clen. */
int bcctl_der_take(const unsigned char **p, long *avail, int tag,
		    const unsigned char **c, long *clen)
{
	const unsigned char *q = *p;
	int t, xclass, r;
	long len;

	r = ASN1_get_object(&q, &len, &t, &xclass, *avail);
	/* 0x80: malformed; 0x01: indefinite length, not DER. */
	if ((r & 0x81) || t != tag || xclass != V_ASN1_UNIVERSAL)
		return -1;
	if (len > *avail - (q - *p))
		return -1;
	*c = q;
	*clen = len;
	*avail -= (q - *p) + len;
	*p = q + len;
	return 0;
}

int bcctl_der_long(const unsigned char **p, long *avail, long *out)
{
	const unsigned char *c;
	long len;
	unsigned long v = 0;

	if (bcctl_der_take(p, avail, V_ASN1_INTEGER, &c, &len) || len < 1 ||
	    len > 8 || (c[0] & 0x80))
		return -1;
	/* DER: no leading zero octet the sign does not need. */
	if (len > 1 && c[0] == 0 && !(c[1] & 0x80))
		return -1;
	for (long i = 0; i < len; i++)
		v = v << 8 | c[i];
	*out = (long)v;
	return 0;
}

int bcctl_der_bool(const unsigned char **p, long *avail, bool *out)
{
	const unsigned char *c;
	long len;

	/* DER: TRUE is 0xff, nothing else but 0x00 is FALSE. */
	if (bcctl_der_take(p, avail, V_ASN1_BOOLEAN, &c, &len) || len != 1 ||
	    (c[0] != 0 && c[0] != 0xff))
		return -1;
	*out = c[0] == 0xff;
	return 0;
}

int bcctl_der_octets(const unsigned char **p, long *avail,
		      unsigned char *out, size_t cap, long *olen, int tag)
{
	const unsigned char *c;
	long len;

	if (bcctl_der_take(p, avail, tag, &c, &len) || (size_t)len >= cap)
		return -1;
	memcpy(out, c, (size_t)len);
	*olen = len;
	return 0;
}

