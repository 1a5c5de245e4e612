/*
 * The lock-step TFTP send loop (RFC 1350, windowsize 1), run on a thread of its own.
 *
 * Why native: a lock-step transfer is one round trip per block, so its rate is set by how fast the
 * server turns an ACK into the next DATA. Node's event loop spends a few microseconds per datagram
 * (a 64 KiB receive buffer allocated and shrunk, a JS callback, a libuv send request) that a thread
 * blocked in recv(2) does not; on loopback that was 6-12% below tftpd-hpa. Everything else about a
 * transfer (option negotiation, paths, the file cache, windowed transfers, the timeline) stays in
 * TypeScript: this file only moves bytes that are already in memory, and reports how it ended.
 *
 * API (N-API, so one build runs on every Node with the same ABI):
 *   start({ host, peerAddress, peerPort, data, blksize, timeoutMs, retries, oack? }, done) -> handle
 *   abort(handle)
 *   done({ outcome, phase, base, retransmits, strays, durationMs, packet?, errno? })
 * outcome: "complete" | "client-error" (packet holds the client's ERROR datagram) | "timeout" |
 *          "refused" (ICMP port unreachable) | "aborted" | "io-error" (errno).
 * phase: "negotiating" (waiting for ACK 0 of the OACK) | "sending".
 * base: the first block (absolute, 1-based) the client has not acknowledged.
 *
 * Threads and lifetimes: start() creates the socket and a detached thread. The thread never closes
 * the socket or frees the transfer: it hands both back through a thread-safe function, and the
 * main thread reports, closes and frees. abort() runs on the main thread too, so the descriptor it
 * shuts down is always still open.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };
enum outcome { COMPLETE, CLIENT_ERROR, TIMEOUT, REFUSED, ABORTED, IO_ERROR };
static const char *const OUTCOME_NAMES[] = { "complete", "client-error", "timeout", "refused", "aborted", "io-error" };

/* Largest datagram a client may send us that we keep whole (an ERROR with its message). */
#define MAX_IN 1024

/* What JavaScript holds: it outlives the transfer (the external is freed by the garbage collector),
   so abort() after the report finds t == NULL instead of freed memory. Main thread only. */
typedef struct slot {
  struct transfer *t;
  int refs; /* the external, and the transfer until its report */
} slot;

typedef struct transfer {
  int fd;
  slot *slot;
  atomic_bool aborted;
  /* The file, borrowed from a Buffer the main thread keeps referenced until the report. */
  const uint8_t *data;
  size_t size;
  napi_ref data_ref;
  uint32_t blksize;
  uint32_t timeout_ms;
  uint32_t retries;
  /* Spin-then-block (see receive): the budget per wait, the process-wide cap, and the backoff. */
  uint32_t spin_us;
  uint32_t max_spinners;
  uint32_t spin_skip;
  uint32_t spin_backoff;
  uint8_t *oack;
  size_t oack_len;
  napi_threadsafe_function done;
  /* The result, written by the thread before it hands the transfer back. */
  enum outcome outcome;
  int negotiating;
  uint64_t base;
  uint64_t retransmits;
  uint64_t strays;
  double duration_ms;
  int err;
  uint8_t packet[MAX_IN];
  size_t packet_len;
} transfer;

static double now_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sets the receive timeout only when it changes: the common case (every ACK on time) costs no call. */
static void set_recv_timeout (transfer *t, long ms, long *current) {
  if (ms < 1) ms = 1;
  if (ms == *current) return;
  struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
  if (setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0) *current = ms;
}

static int send_block (transfer *t, uint64_t block) {
  uint8_t header[4] = { 0, OP_DATA, (uint8_t)(block >> 8), (uint8_t)block };
  size_t offset = (size_t)(block - 1) * t->blksize;
  size_t len = offset >= t->size ? 0 : t->size - offset < t->blksize ? t->size - offset : t->blksize;
  struct iovec iov[2] = { { header, 4 }, { (void *)(t->data + offset), len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1 };
  return sendmsg(t->fd, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Sends what is due now: the OACK while negotiating, else DATA `base`. */
static int send_current (transfer *t) {
  if (t->negotiating) return send(t->fd, t->oack, t->oack_len, MSG_NOSIGNAL) < 0 ? -1 : 0;
  return send_block(t, t->base);
}

/* Transfers spinning at this moment, in the whole process (see receive). */
static atomic_uint spinners;

/*
 * Waits for the client's next datagram. In lock-step, most of a block's round trip on a fast link is
 * the two sleeping CPUs waking up, not the work: a thread that sleeps in recv(2) pays its CPU's wake-up
 * (tens of microseconds in a VM, several on bare metal at deep C-states) once per block. So first
 * poll without sleeping for up to spin_us, as the kernel's own socket busy-polling does (SO_BUSY_POLL,
 * which loopback and veth do not support), then sleep. Bounded three ways: the budget per wait; at
 * most max_spinners transfers spin at once in the process; and a client that did not answer within
 * the budget is not spun for again for 1, 3, 7 ... 255 waits, so a slow client costs next to no CPU.
 */
static ssize_t receive (transfer *t, uint8_t *in, size_t cap) {
  if (t->spin_us > 0) {
    if (t->spin_skip > 0) {
      t->spin_skip--;
    } else if (atomic_fetch_add(&spinners, 1) < t->max_spinners) {
      const double until = now_ms() + t->spin_us / 1e3;
      do {
        ssize_t n = recv(t->fd, in, cap, MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          atomic_fetch_sub(&spinners, 1);
          t->spin_backoff = 0;
          return n;
        }
      } while (now_ms() < until && !atomic_load(&t->aborted));
      atomic_fetch_sub(&spinners, 1);
      if (t->spin_backoff < 8) t->spin_backoff++;
      t->spin_skip = (1u << t->spin_backoff) - 1;
    } else {
      atomic_fetch_sub(&spinners, 1);
    }
  }
  return recv(t->fd, in, cap, 0);
}

/* A send that failed for a reason the retransmit timer covers (a full queue, a firewall's EPERM). */
static int transient (int e) { return e == ENOBUFS || e == EAGAIN || e == EPERM || e == EINTR; }

static void run (transfer *t) {
  const double started = now_ms();
  const uint64_t total = t->size / t->blksize + 1; /* RFC 1350 §6: the last block is short, maybe empty */
  uint8_t in[MAX_IN];
  uint32_t attempts = 0;
  long current_timeout = 0;
  t->base = 1;
  t->negotiating = t->oack != NULL;
  for (;;) {
    if (send_current(t) < 0 && !transient(errno)) {
      t->outcome = errno == ECONNREFUSED ? REFUSED : IO_ERROR;
      t->err = errno;
      break;
    }
    const double sent_at = now_ms();
    set_recv_timeout(t, (long)t->timeout_ms, &current_timeout);
    int advanced = 0;
    while (!advanced) {
      ssize_t n = receive(t, in, sizeof in);
      if (atomic_load(&t->aborted)) { t->outcome = ABORTED; goto out; }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break; /* the timer: resend below */
        if (errno == EINTR) continue;
        t->outcome = errno == ECONNREFUSED ? REFUSED : IO_ERROR;
        t->err = errno;
        goto out;
      }
      if (n >= 4 && in[0] == 0 && in[1] == OP_ACK) {
        const uint16_t wire = (uint16_t)(in[2] << 8 | in[3]);
        if (t->negotiating) {
          if (wire == 0) { t->negotiating = 0; advanced = 1; }
        } else {
          /* The 16-bit block number names the absolute block in [base-1, base-1+65535]. */
          const uint64_t prev = t->base - 1;
          const uint64_t acked = prev + (uint16_t)(wire - (uint16_t)prev);
          if (acked == t->base) {
            t->base++;
            if (acked == total) { t->outcome = COMPLETE; goto out; }
            advanced = 1;
          }
          /* A duplicate ACK of the block before is ignored: resending on it is the Sorcerer's
             Apprentice bug (RFC 1123 §4.2.3.1); only the timer resends. */
        }
      } else if (n >= 5 && in[0] == 0 && in[1] == OP_ERROR && memchr(in + 4, 0, (size_t)n - 4) == in + n - 1) {
        /* RFC 1350 §7: an ERROR ends the transfer; TypeScript decodes and words it. Only a well-formed
           one (its message ends at its only NUL, as the decoder requires) counts: anything else is
           a stray, ignored as the event-loop path ignores what it cannot decode. */
        memcpy(t->packet, in, (size_t)n);
        t->packet_len = (size_t)n;
        t->outcome = CLIENT_ERROR;
        goto out;
      } else {
        t->strays++;
      }
      if (!advanced) {
        /* Strays and duplicates do not restart the clock: wait only for what is left of it. */
        const double left = t->timeout_ms - (now_ms() - sent_at);
        if (left <= 0) break;
        set_recv_timeout(t, (long)left, &current_timeout);
      }
    }
    if (advanced) {
      attempts = 0;
      continue;
    }
    if (attempts >= t->retries) { t->outcome = TIMEOUT; break; }
    attempts++;
    if (!t->negotiating) t->retransmits++;
  }
out:
  t->duration_ms = now_ms() - started;
}

static void *thread_main (void *arg) {
  transfer *t = arg;
  run(t);
  /* Hand the transfer back; the main thread reports, closes and frees it, maybe before the call
     below returns: from here on t is not ours to touch. */
  napi_threadsafe_function done = t->done;
  napi_call_threadsafe_function(done, t, napi_tsfn_blocking);
  napi_release_threadsafe_function(done, napi_tsfn_release);
  return NULL;
}

static void drop_slot (slot *s) {
  if (--s->refs == 0) free(s);
}

static void finalize_slot (napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  drop_slot(data);
}

static void free_transfer (napi_env env, transfer *t) {
  if (t->slot != NULL) {
    t->slot->t = NULL;
    drop_slot(t->slot);
  }
  if (t->fd >= 0) close(t->fd);
  if (t->data_ref != NULL && env != NULL) napi_delete_reference(env, t->data_ref);
  free(t->oack);
  free(t);
}

static void set_number (napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) == napi_ok) napi_set_named_property(env, obj, key, n);
}

static void set_string (napi_env env, napi_value obj, const char *key, const char *v) {
  napi_value s;
  if (napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_named_property(env, obj, key, s);
}

static void report (napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  transfer *t = data;
  if (env != NULL && callback != NULL) {
    napi_value result, undefined;
    if (napi_create_object(env, &result) == napi_ok && napi_get_undefined(env, &undefined) == napi_ok) {
      set_string(env, result, "outcome", OUTCOME_NAMES[t->outcome]);
      set_string(env, result, "phase", t->negotiating ? "negotiating" : "sending");
      set_number(env, result, "base", (double)t->base);
      set_number(env, result, "retransmits", (double)t->retransmits);
      set_number(env, result, "strays", (double)t->strays);
      set_number(env, result, "durationMs", t->duration_ms);
      if (t->outcome == IO_ERROR || t->outcome == REFUSED) set_number(env, result, "errno", t->err);
      if (t->outcome == CLIENT_ERROR) {
        napi_value packet;
        void *copy;
        if (napi_create_buffer_copy(env, t->packet_len, t->packet, &copy, &packet) == napi_ok) napi_set_named_property(env, result, "packet", packet);
      }
      napi_call_function(env, undefined, callback, 1, &result, NULL);
    }
  }
  free_transfer(env, t);
}

static int get_u32 (napi_env env, napi_value obj, const char *key, uint32_t *out) {
  napi_value v;
  return napi_get_named_property(env, obj, key, &v) == napi_ok && napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

/* Leaves *out as it is when the key is absent or undefined. */
static int get_optional_u32 (napi_env env, napi_value obj, const char *key, uint32_t *out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok) return -1;
  if (type == napi_undefined) return 0;
  return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_ipv4 (napi_env env, napi_value obj, const char *key, struct in_addr *out) {
  napi_value v;
  char text[INET_ADDRSTRLEN];
  size_t len;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok) return -1;
  return inet_pton(AF_INET, text, out) == 1 ? 0 : -1;
}

static napi_value throw_errno (napi_env env, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "ERR_TFTP_NATIVE", message);
  return NULL;
}

/* Reads start()'s options into t; returns what is wrong with them, or NULL. */
static const char *configure (napi_env env, napi_value opts, transfer *t, struct sockaddr_in *local, struct sockaddr_in *peer) {
  uint32_t peer_port;
  bool is_buffer, has_oack;
  void *bytes;
  napi_value v;
  if (get_ipv4(env, opts, "host", &local->sin_addr) < 0 || get_ipv4(env, opts, "peerAddress", &peer->sin_addr) < 0 ||
      get_u32(env, opts, "peerPort", &peer_port) < 0 || peer_port == 0 || peer_port > 65535 ||
      get_u32(env, opts, "blksize", &t->blksize) < 0 || t->blksize < 8 || t->blksize > 65464 ||
      get_u32(env, opts, "timeoutMs", &t->timeout_ms) < 0 || t->timeout_ms == 0 ||
      get_u32(env, opts, "retries", &t->retries) < 0) {
    return "start: host and peerAddress (IPv4), peerPort (1-65535), blksize (8-65464), timeoutMs (> 0) and retries are required";
  }
  peer->sin_port = htons((uint16_t)peer_port);
  if (napi_get_named_property(env, opts, "data", &v) != napi_ok || napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, v, &bytes, &t->size) != napi_ok || napi_create_reference(env, v, 1, &t->data_ref) != napi_ok) {
    return "start: data must be a Buffer";
  }
  t->data = bytes;
  if (napi_has_named_property(env, opts, "oack", &has_oack) != napi_ok) return "start: options unreadable";
  /* Optional: spinning is off unless asked for. */
  if (get_optional_u32(env, opts, "spinMicros", &t->spin_us) < 0 || get_optional_u32(env, opts, "maxSpinners", &t->max_spinners) < 0 || t->spin_us > 10000) {
    return "start: spinMicros (0-10000) and maxSpinners must be whole numbers when given";
  }
  if (!has_oack) return NULL;
  if (napi_get_named_property(env, opts, "oack", &v) != napi_ok || napi_is_buffer(env, v, &is_buffer) != napi_ok) return "start: options unreadable";
  if (!is_buffer) return NULL; /* oack: undefined */
  if (napi_get_buffer_info(env, v, &bytes, &t->oack_len) != napi_ok || t->oack_len == 0) return "start: oack must be a non-empty Buffer";
  t->oack = malloc(t->oack_len);
  if (t->oack == NULL) return "start: out of memory";
  memcpy(t->oack, bytes, t->oack_len);
  return NULL;
}

static napi_value start (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], resource_name, handle;
  struct sockaddr_in local = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET };
  transfer *t = NULL;
  const char *invalid;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) goto fail;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "start(options, done) takes two arguments");
    return NULL;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL) goto fail;
  t->fd = -1;
  if ((invalid = configure(env, argv[0], t, &local, &peer)) != NULL) {
    free_transfer(env, t);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", invalid);
    return NULL;
  }
  /* RFC 1350 §4: the transfer runs between two TIDs; connecting makes the kernel drop other peers. */
  t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&local, sizeof local) < 0 || connect(t->fd, (struct sockaddr *)&peer, sizeof peer) < 0) {
    int e = errno;
    free_transfer(env, t);
    errno = e;
    return throw_errno(env, "tftp transfer socket");
  }
  t->slot = malloc(sizeof *t->slot);
  if (t->slot == NULL) goto fail;
  *t->slot = (slot){ .t = t, .refs = 2 };
  if (napi_create_external(env, t->slot, finalize_slot, NULL, &handle) != napi_ok) {
    t->slot->refs = 1; /* no external holds it: the transfer's reference is the last */
    goto fail;
  }
  if (napi_create_string_utf8(env, "anvil:tftp-lockstep", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[1], NULL, resource_name, 0, 1, NULL, NULL, NULL, report, &t->done) != napi_ok) {
    goto fail;
  }
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024); /* the loop needs a few KiB; the default is 8 MiB */
  int rc = pthread_create(&thread, &attr, thread_main, t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    napi_release_threadsafe_function(t->done, napi_tsfn_abort);
    free_transfer(env, t);
    errno = rc;
    return throw_errno(env, "tftp transfer thread");
  }
  return handle;
fail:
  if (t != NULL) free_transfer(env, t);
  napi_throw_error(env, "ERR_TFTP_NATIVE", "start: a Node-API call failed");
  return NULL;
}

/* Ends a running transfer: the thread wakes from recv and reports "aborted". */
static napi_value abort_transfer (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "abort: expected a transfer handle");
    return NULL;
  }
  transfer *t = ((slot *)p)->t;
  if (t == NULL) return NULL; /* already reported */
  atomic_store(&t->aborted, true);
  shutdown(t->fd, SHUT_RDWR);
  return NULL;
}

static napi_value init (napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "start", NULL, start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "abort", NULL, abort_transfer, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
