/*
 * Batched UDP datagram I/O for the SFU: recvmmsg/sendmmsg on a socket this addon owns, driven by libuv readiness.
 *
 * node:dgram costs one 'message' event, one Buffer and one address string per received datagram and one libuv
 * request per sent one. Here a readable socket is drained with recvmmsg into a slab the JavaScript side owns (one
 * call into JavaScript per batch, which is whatever the socket holds right now: no timer, no waiting for a batch to
 * fill), and the JavaScript side seals its outgoing copies straight into a second slab that goes out with one
 * sendmmsg. The forwarding rules stay in TypeScript, one set for this path and the node:dgram fallback.
 *
 * Layout shared with sfu/udp/batched-io.ts: slot i of a slab is bytes [i*slot, (i+1)*slot); meta entry i is four
 * uint32s [length, IPv4 address (host order), port, 0]. A received datagram longer than its slot reports its real
 * length (MSG_TRUNC), so the rules can refuse it as they refuse an oversized datagram on node:dgram.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define META_WORDS 4
#define MAX_BATCH 1024
/* Full batches drained per readiness before yielding to the loop (timers, other sockets); libuv polls again. */
#define MAX_ROUNDS 8
#define CMSG_BYTES 64

typedef struct {
  uv_poll_t poll;
  int fd;
  int closing;
  int handle_closed;
  int finalized;
  int release_on_close;
  napi_env env;
  napi_ref callback;
  napi_ref recv_slab_ref;
  napi_ref recv_meta_ref;
  napi_ref resource_ref;
  napi_async_context async;
  uint8_t *recv_slab;
  uint32_t *recv_meta;
  uint32_t batch;
  uint32_t slot;
  uint32_t send_slot;
  uint32_t send_cap;
  uint32_t overflow;
  struct mmsghdr *rmsgs;
  struct iovec *riov;
  struct sockaddr_in *raddr;
  uint8_t *rcmsg;
  struct mmsghdr *smsgs;
  struct iovec *siov;
  struct sockaddr_in *saddr;
} io_t;

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "ERR_UDP_MMSG", msg);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s: %s", what, strerror(err));
  napi_value msg, code, e;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_int32(env, err, &code);
  napi_create_error(env, NULL, msg, &e);
  napi_set_named_property(env, e, "errno", code);
  napi_throw(env, e);
  return NULL;
}

static int get_u8(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = (uint8_t *)p;
  return 1;
}

static int get_u32arr(napi_env env, napi_value v, uint32_t **data, size_t *len) {
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok || type != napi_uint32_array) return 0;
  *data = (uint32_t *)p;
  return 1;
}

static void free_io(io_t *io) {
  free(io->rmsgs);
  free(io->riov);
  free(io->raddr);
  free(io->rcmsg);
  free(io->smsgs);
  free(io->siov);
  free(io->saddr);
  free(io);
}

static void release_refs(io_t *io) {
  napi_env env = io->env;
  if (io->callback) napi_delete_reference(env, io->callback);
  if (io->recv_slab_ref) napi_delete_reference(env, io->recv_slab_ref);
  if (io->recv_meta_ref) napi_delete_reference(env, io->recv_meta_ref);
  if (io->resource_ref) napi_delete_reference(env, io->resource_ref);
  if (io->async) napi_async_destroy(env, io->async);
  io->callback = io->recv_slab_ref = io->recv_meta_ref = io->resource_ref = NULL;
  io->async = NULL;
}

static void on_handle_closed(uv_handle_t *h) {
  io_t *io = (io_t *)h->data;
  /* References are dropped here, not inside close(): close() may run inside this socket's own batch callback. */
  if (io->release_on_close) release_refs(io);
  io->handle_closed = 1;
  if (io->finalized) free_io(io);
}

/* Stops polling and closes the socket; the struct itself lives until both libuv and the GC are done with it. */
static void shutdown_io(io_t *io, int delete_refs) {
  if (io->closing) return;
  io->closing = 1;
  uv_poll_stop(&io->poll);
  close(io->fd);
  io->fd = -1;
  io->release_on_close = delete_refs;
  uv_close((uv_handle_t *)&io->poll, on_handle_closed);
}

static void env_cleanup(void *arg) {
  /* The environment (a worker thread) is going away: its references die with it, only the socket needs closing. */
  shutdown_io((io_t *)arg, 0);
}

static void finalize_io(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  io_t *io = (io_t *)data;
  io->finalized = 1;
  if (io->handle_closed) free_io(io);
}

static uint32_t read_overflow(struct msghdr *h, uint32_t current) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v;
    }
  }
  return current;
}

static void deliver(io_t *io, int n) {
  napi_env env = io->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, resource, arg, result;
  napi_get_reference_value(env, io->callback, &cb);
  napi_get_reference_value(env, io->resource_ref, &resource);
  napi_create_uint32(env, (uint32_t)n, &arg);
  /* make_callback, not call_function: it runs the microtask and nextTick queues afterwards, as a libuv callback should. */
  napi_status st = napi_make_callback(env, io->async, resource, cb, 1, &arg, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  io_t *io = (io_t *)handle->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_ROUNDS && !io->closing; round++) {
    for (uint32_t i = 0; i < io->batch; i++) {
      io->rmsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
      io->rmsgs[i].msg_hdr.msg_controllen = CMSG_BYTES;
      io->rmsgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(io->fd, io->rmsgs, io->batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN (drained) or a socket error: wait for the next readiness. */
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      struct msghdr *h = &io->rmsgs[i].msg_hdr;
      uint32_t *m = io->recv_meta + (size_t)i * META_WORDS;
      m[0] = io->rmsgs[i].msg_len;
      m[1] = ntohl(io->raddr[i].sin_addr.s_addr);
      m[2] = ntohs(io->raddr[i].sin_port);
      m[3] = 0;
      io->overflow = read_overflow(h, io->overflow);
    }
    deliver(io, n);
    if ((uint32_t)n < io->batch) return;
  }
}

/* open(address, port, rcvbuf, sndbuf, recvSlab, recvMeta, batch, slot, sendCapacity, sendSlot, onBatch) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 11) return throw_msg(env, "open needs 11 arguments");
  char address[64];
  size_t alen = 0;
  if (napi_get_value_string_utf8(env, argv[0], address, sizeof address, &alen) != napi_ok)
    return throw_msg(env, "address must be a string");
  uint32_t port, rcvbuf, sndbuf, batch, slot, sendCap, sendSlot;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535) return throw_msg(env, "bad port");
  if (napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok) return throw_msg(env, "bad rcvbuf");
  if (napi_get_value_uint32(env, argv[3], &sndbuf) != napi_ok) return throw_msg(env, "bad sndbuf");
  if (napi_get_value_uint32(env, argv[6], &batch) != napi_ok || batch == 0 || batch > MAX_BATCH)
    return throw_msg(env, "bad batch");
  if (napi_get_value_uint32(env, argv[7], &slot) != napi_ok || slot < 64 || slot > 65536) return throw_msg(env, "bad slot");
  if (napi_get_value_uint32(env, argv[8], &sendCap) != napi_ok || sendCap == 0 || sendCap > MAX_BATCH)
    return throw_msg(env, "bad send capacity");
  if (napi_get_value_uint32(env, argv[9], &sendSlot) != napi_ok || sendSlot < 64 || sendSlot > 65536)
    return throw_msg(env, "bad send slot");
  uint8_t *slab;
  uint32_t *meta;
  size_t slab_len, meta_len;
  if (!get_u8(env, argv[4], &slab, &slab_len) || slab_len < (size_t)batch * slot)
    return throw_msg(env, "recvSlab must be a Uint8Array of batch*slot bytes");
  if (!get_u32arr(env, argv[5], &meta, &meta_len) || meta_len < (size_t)batch * META_WORDS)
    return throw_msg(env, "recvMeta must be a Uint32Array of batch*4 entries");
  napi_valuetype t;
  napi_typeof(env, argv[10], &t);
  if (t != napi_function) return throw_msg(env, "onBatch must be a function");

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) return throw_msg(env, "address must be an IPv4 literal");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  int rb = (int)rcvbuf, sb = (int)sndbuf;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }

  io_t *io = calloc(1, sizeof(io_t));
  io->fd = fd;
  io->env = env;
  io->recv_slab = slab;
  io->recv_meta = meta;
  io->batch = batch;
  io->slot = slot;
  io->send_slot = sendSlot;
  io->send_cap = sendCap;
  io->rmsgs = calloc(batch, sizeof(struct mmsghdr));
  io->riov = calloc(batch, sizeof(struct iovec));
  io->raddr = calloc(batch, sizeof(struct sockaddr_in));
  io->rcmsg = calloc(batch, CMSG_BYTES);
  io->smsgs = calloc(sendCap, sizeof(struct mmsghdr));
  io->siov = calloc(sendCap, sizeof(struct iovec));
  io->saddr = calloc(sendCap, sizeof(struct sockaddr_in));
  for (uint32_t i = 0; i < batch; i++) {
    io->riov[i].iov_base = slab + (size_t)i * slot;
    io->riov[i].iov_len = slot;
    struct msghdr *h = &io->rmsgs[i].msg_hdr;
    h->msg_name = &io->raddr[i];
    h->msg_iov = &io->riov[i];
    h->msg_iovlen = 1;
    h->msg_control = io->rcmsg + (size_t)i * CMSG_BYTES;
  }
  for (uint32_t i = 0; i < sendCap; i++) {
    struct msghdr *h = &io->smsgs[i].msg_hdr;
    io->saddr[i].sin_family = AF_INET;
    h->msg_name = &io->saddr[i];
    h->msg_namelen = sizeof(struct sockaddr_in);
    h->msg_iov = &io->siov[i];
    h->msg_iovlen = 1;
  }
  napi_create_reference(env, argv[10], 1, &io->callback);
  napi_create_reference(env, argv[4], 1, &io->recv_slab_ref);
  napi_create_reference(env, argv[5], 1, &io->recv_meta_ref);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &io->resource_ref);
  napi_create_string_utf8(env, "resound:udp-mmsg", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &io->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &io->poll, fd);
  io->poll.data = io;
  uv_poll_start(&io->poll, UV_READABLE, on_readable);
  napi_add_env_cleanup_hook(env, env_cleanup, io);

  napi_value handle;
  napi_create_external(env, io, finalize_io, NULL, &handle);
  return handle;
}

static io_t *get_io(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  napi_get_value_external(env, v, &p);
  return (io_t *)p;
}

/* Reads `want` arguments into argv; the first is the socket handle, returned (NULL when missing or not one). */
static io_t *handle_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= want ? get_io(env, argv[0]) : NULL;
}

/* localPort(handle) -> the bound port */
static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  io_t *io = handle_args(env, info, 1, argv);
  if (!io || io->closing) return throw_msg(env, "socket is closed");
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  if (getsockname(io->fd, (struct sockaddr *)&sa, &len) != 0) return throw_errno(env, "getsockname", errno);
  napi_value r;
  napi_create_uint32(env, ntohs(sa.sin_port), &r);
  return r;
}

/*
 * send(handle, slab, meta, count, status) -> datagrams the kernel took. status[i] is 0 or the errno of datagram i:
 * a partial sendmmsg resumes at the datagram that failed, which is marked and skipped, so one bad destination costs
 * only its own copy.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  io_t *io = handle_args(env, info, 5, argv);
  if (!io || io->closing) return throw_msg(env, "socket is closed");
  uint8_t *slab;
  uint32_t *meta, *status;
  size_t slab_len, meta_len, status_len;
  uint32_t count;
  if (!get_u8(env, argv[1], &slab, &slab_len)) return throw_msg(env, "slab must be a Uint8Array");
  if (!get_u32arr(env, argv[2], &meta, &meta_len)) return throw_msg(env, "meta must be a Uint32Array");
  if (napi_get_value_uint32(env, argv[3], &count) != napi_ok) return throw_msg(env, "bad count");
  napi_typedarray_type type;
  void *sp = NULL;
  if (napi_get_typedarray_info(env, argv[4], &type, &status_len, &sp, NULL, NULL) != napi_ok || type != napi_int32_array)
    return throw_msg(env, "status must be an Int32Array");
  status = (uint32_t *)sp;
  size_t cap = count;
  if (count > io->send_cap || meta_len < cap * META_WORDS || status_len < cap || slab_len < cap * io->send_slot)
    return throw_msg(env, "count exceeds the send batch");
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t *m = meta + (size_t)i * META_WORDS;
    if (m[0] > io->send_slot || m[2] > 65535) return throw_msg(env, "datagram larger than its slot or bad port");
    io->siov[i].iov_base = slab + (size_t)i * io->send_slot;
    io->siov[i].iov_len = m[0];
    io->saddr[i].sin_addr.s_addr = htonl(m[1]);
    io->saddr[i].sin_port = htons((uint16_t)m[2]);
    status[i] = 0;
  }
  uint32_t i = 0, ok = 0;
  while (i < count) {
    int r = sendmmsg(io->fd, io->smsgs + i, count - i, MSG_DONTWAIT);
    if (r > 0) {
      i += (uint32_t)r;
      ok += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      status[i] = (uint32_t)(r < 0 ? errno : EIO);
      i++;
    }
  }
  napi_value result;
  napi_create_uint32(env, ok, &result);
  return result;
}

/* overflow(handle) -> datagrams the kernel dropped because the receive queue was full (SO_RXQ_OVFL, cumulative) */
static napi_value js_overflow(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  io_t *io = handle_args(env, info, 1, argv);
  if (!io) return throw_msg(env, "not a socket handle");
  napi_value r;
  napi_create_uint32(env, io->overflow, &r);
  return r;
}

/* close(handle): idempotent */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  io_t *io = handle_args(env, info, 1, argv);
  if (!io) return throw_msg(env, "not a socket handle");
  if (!io->closing) {
    napi_remove_env_cleanup_hook(env, env_cleanup, io);
    shutdown_io(io, 1);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"overflow", NULL, js_overflow, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
