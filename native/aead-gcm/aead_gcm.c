/*
 * AES-256-GCM for RTP transport encryption, using the OpenSSL that Node itself links.
 *
 * node:crypto has to build a new Cipheriv (and re-expand the AES key) for every packet. Here one EVP_CIPHER_CTX per
 * direction is initialised with the key once; each packet only sets a new 12-byte IV. All buffers are passed as
 * (typed array, offset, length) so the JavaScript side never needs to create subarray views per packet.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 16
#define IV_LEN 12
#define KEY_LEN 32

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
} gcm_ctx;

static void gcm_free(gcm_ctx *c) {
  if (c->enc) EVP_CIPHER_CTX_free(c->enc);
  if (c->dec) EVP_CIPHER_CTX_free(c->dec);
  c->enc = NULL;
  c->dec = NULL;
}

static void finalize_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_ctx *c = (gcm_ctx *)data;
  gcm_free(c);
  free(c);
}

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "ERR_AEAD_GCM", msg);
  return NULL;
}

/*
 * Resolves a Uint8Array/Buffer plus a byte range inside it; fails unless [off, off+len) lies within the view.
 * Sizes are 64-bit so that no sum of JavaScript-supplied lengths can wrap around.
 */
static int get_range(napi_env env, napi_value v, uint64_t off, uint64_t len, uint8_t **out) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  if (off + len > (uint64_t)length) return 0;
  *out = (uint8_t *)data + off;
  return 1;
}

/* A uint32 argument that is also small enough for OpenSSL's int lengths; 0 when the value is not a number. */
static int get_len(napi_env env, napi_value v, uint32_t *out) {
  *out = 0;
  if (napi_get_value_uint32(env, v, out) != napi_ok) return 0;
  return *out <= (uint32_t)(INT_MAX - 64);
}

static void make_iv(uint8_t iv[IV_LEN], uint32_t counter) {
  memset(iv, 0, IV_LEN);
  iv[0] = (uint8_t)(counter >> 24);
  iv[1] = (uint8_t)(counter >> 16);
  iv[2] = (uint8_t)(counter >> 8);
  iv[3] = (uint8_t)counter;
}

/* create(key: Uint8Array(32)) -> external context */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key;
  if (argc < 1 || !get_range(env, argv[0], 0, KEY_LEN, &key)) return throw_msg(env, "key must be a Uint8Array of 32 bytes");
  gcm_ctx *c = (gcm_ctx *)calloc(1, sizeof(gcm_ctx));
  if (!c) return throw_msg(env, "out of memory");
  c->enc = EVP_CIPHER_CTX_new();
  c->dec = EVP_CIPHER_CTX_new();
  if (!c->enc || !c->dec ||
      EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
    gcm_free(c);
    free(c);
    return throw_msg(env, "OpenSSL AES-256-GCM initialisation failed");
  }
  napi_value ext;
  if (napi_create_external(env, c, finalize_ctx, NULL, &ext) != napi_ok) {
    gcm_free(c);
    free(c);
    return throw_msg(env, "napi_create_external failed");
  }
  return ext;
}

static gcm_ctx *get_ctx(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  gcm_ctx *c = (gcm_ctx *)data;
  return (c && c->enc && c->dec) ? c : NULL;
}

static napi_value int_result(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/*
 * seal(ctx, out, aadLen, src, srcOff, srcLen, counter) -> bytes written after the AAD (srcLen + 16)
 * AAD = out[0, aadLen); ciphertext goes to out[aadLen, aadLen+srcLen), tag right after it.
 */
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return throw_msg(env, "seal: 7 arguments expected");
  gcm_ctx *c = get_ctx(env, argv[0]);
  if (!c) return throw_msg(env, "seal: closed or invalid context");
  uint32_t aad_len, src_off, src_len, counter = 0;
  if (!get_len(env, argv[2], &aad_len) || !get_len(env, argv[4], &src_off) || !get_len(env, argv[5], &src_len) ||
      napi_get_value_uint32(env, argv[6], &counter) != napi_ok) {
    return throw_msg(env, "seal: lengths and counter must be 32-bit unsigned integers");
  }
  uint8_t *out, *src;
  if (!get_range(env, argv[1], 0, (uint64_t)aad_len + src_len + TAG_LEN, &out)) return throw_msg(env, "seal: out too small");
  if (!get_range(env, argv[3], src_off, src_len, &src)) return throw_msg(env, "seal: source range out of bounds");
  uint8_t iv[IV_LEN];
  make_iv(iv, counter);
  int n = 0;
  if (EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, iv) != 1) return int_result(env, -1);
  if (aad_len > 0 && EVP_EncryptUpdate(c->enc, NULL, &n, out, (int)aad_len) != 1) return int_result(env, -1);
  if (EVP_EncryptUpdate(c->enc, out + aad_len, &n, src, (int)src_len) != 1) return int_result(env, -1);
  int fin = 0;
  if (EVP_EncryptFinal_ex(c->enc, out + aad_len + n, &fin) != 1) return int_result(env, -1);
  if (EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + aad_len + src_len) != 1) return int_result(env, -1);
  return int_result(env, (int32_t)(src_len + TAG_LEN));
}

/*
 * open(ctx, packet, aadLen, ctLen, counter, out) -> plaintext length or -1
 * AAD = packet[0, aadLen); ciphertext = packet[aadLen, aadLen+ctLen); tag = the 16 bytes after it. Plaintext -> out[0..].
 */
static napi_value open_(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_msg(env, "open: 6 arguments expected");
  gcm_ctx *c = get_ctx(env, argv[0]);
  if (!c) return throw_msg(env, "open: closed or invalid context");
  uint32_t aad_len, ct_len, counter = 0;
  if (!get_len(env, argv[2], &aad_len) || !get_len(env, argv[3], &ct_len) ||
      napi_get_value_uint32(env, argv[4], &counter) != napi_ok) {
    return int_result(env, -1);
  }
  uint8_t *pkt, *out;
  if (!get_range(env, argv[1], 0, (uint64_t)aad_len + ct_len + TAG_LEN, &pkt)) return int_result(env, -1);
  if (!get_range(env, argv[5], 0, ct_len, &out)) return throw_msg(env, "open: out too small");
  uint8_t iv[IV_LEN];
  make_iv(iv, counter);
  int n = 0;
  if (EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, iv) != 1) return int_result(env, -1);
  if (aad_len > 0 && EVP_DecryptUpdate(c->dec, NULL, &n, pkt, (int)aad_len) != 1) return int_result(env, -1);
  if (EVP_DecryptUpdate(c->dec, out, &n, pkt + aad_len, (int)ct_len) != 1) return int_result(env, -1);
  if (EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, TAG_LEN, pkt + aad_len + ct_len) != 1) return int_result(env, -1);
  int fin = 0;
  if (EVP_DecryptFinal_ex(c->dec, out + n, &fin) != 1) {
    /* Authentication failed: do not leave unauthenticated plaintext behind. */
    memset(out, 0, ct_len);
    return int_result(env, -1);
  }
  return int_result(env, (int32_t)ct_len);
}

/* destroy(ctx): frees the OpenSSL contexts now instead of at garbage collection. */
static napi_value destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc >= 1 && napi_get_value_external(env, argv[0], &data) == napi_ok && data) gcm_free((gcm_ctx *)data);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
    {"seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL},
    {"open", NULL, open_, NULL, NULL, NULL, napi_default, NULL},
    {"destroy", NULL, destroy, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
