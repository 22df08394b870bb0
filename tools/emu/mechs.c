// SPDX-License-Identifier: GPL-2.0
/*
 * The mechanisms the chip implements, with the key sizes and functions
 * MECH_INFO reports: what crypto.c accepts, and nothing more.  Key sizes
 * are in bits, AES in bytes, as PKCS#11 counts them.
 */
#include "keystore.h"

#define EC_FLAGS	(CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define SV		(CKF_HW | CKF_SIGN | CKF_VERIFY)
#define ED		(CKF_HW | CKF_ENCRYPT | CKF_DECRYPT)

static const struct ks_mech_desc mechs[] = {
	{ CKM_EC_KEY_PAIR_GEN, 256, 521,
	  CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255,
	  CKF_HW | CKF_GENERATE_KEY_PAIR },
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096,
	  CKF_HW | CKF_GENERATE_KEY_PAIR },
	{ CKM_AES_KEY_GEN, 16, 32, CKF_HW | CKF_GENERATE },
	{ CKM_ECDSA, 256, 521, SV | EC_FLAGS },
	{ CKM_ECDSA_SHA256, 256, 521, SV | EC_FLAGS },
	{ CKM_ECDSA_SHA384, 256, 521, SV | EC_FLAGS },
	{ CKM_ECDSA_SHA512, 256, 521, SV | EC_FLAGS },
	{ CKM_EDDSA, 255, 255, SV },
	{ CKM_RSA_PKCS, 1024, 4096, SV | ED },
	{ CKM_SHA256_RSA_PKCS, 1024, 4096, SV },
	{ CKM_SHA384_RSA_PKCS, 1024, 4096, SV },
	{ CKM_SHA512_RSA_PKCS, 1024, 4096, SV },
	{ CKM_RSA_PKCS_PSS, 1024, 4096, SV },
	{ CKM_SHA256_RSA_PKCS_PSS, 1024, 4096, SV },
	{ CKM_SHA384_RSA_PKCS_PSS, 1024, 4096, SV },
	{ CKM_SHA512_RSA_PKCS_PSS, 1024, 4096, SV },
	{ CKM_RSA_PKCS_OAEP, 1024, 4096, ED },
	{ CKM_ECDH1_DERIVE, 256, 521, CKF_HW | CKF_DERIVE | EC_FLAGS },
	{ CKM_AES_GCM, 16, 32, ED },
	{ CKM_AES_CBC_PAD, 16, 32, ED },
	{ CKM_AES_KEY_WRAP, 16, 32, CKF_HW | CKF_WRAP | CKF_UNWRAP },
	{ CKM_AES_KEY_WRAP_PAD, 16, 32, CKF_HW | CKF_WRAP | CKF_UNWRAP },
	{ CKM_SHA256, 0, 0, CKF_HW | CKF_DIGEST },
	{ CKM_SHA384, 0, 0, CKF_HW | CKF_DIGEST },
	{ CKM_SHA512, 0, 0, CKF_HW | CKF_DIGEST },
};

const struct ks_mech_desc *ks_mech_find(uint32_t mech)
{
	for (unsigned int i = 0; i < ks_mech_count(); i++)
		if (mechs[i].mech == mech)
			return &mechs[i];
	return NULL;
}

unsigned int ks_mech_count(void)
{
	return sizeof(mechs) / sizeof(mechs[0]);
}

const struct ks_mech_desc *ks_mech_at(unsigned int i)
{
	return i < ks_mech_count() ? &mechs[i] : NULL;
}
