/*
 * The lock-step TFTP send loop (RFC 1350, windowsize 1): one native thread serving every lock-step
 * transfer of the process through epoll.
 *
 * Why native: a lock-step transfer is one round trip per block, so its rate is set by how fast the
 * server turns an ACK into the next DATA. On Node's event loop each datagram costs a few microseconds
 * (a 64 KiB receive buffer allocated and shrunk, a JS callback, a send request) and, on a fast link,
 * a sleep and a CPU wake-up per block; that ran at 0.88-0.94x tftpd-hpa. This thread costs two
 * system calls per block, and while clients answer quickly it polls instead of sleeping (see
 * wait_for_events), which no JavaScript socket API can do. Everything else about a transfer (option
 * negotiation, paths, the file cache, windowed transfers, the timeline) stays in TypeScript: this file
 * only moves bytes that are already in memory, and reports how each transfer ended.
 *
 * API (Node-API, so one build runs on every Node with the same ABI):
 *   start({ host, peerAddress, peerPort, data, blksize, timeoutMs, retries, oack? }, done) -> handle
 *   abort(handle)
 *   configure({ spinMicros })
 *   done({ outcome, phase, base, retransmits, strays, durationMs, packet?, errno? })
 * outcome: "complete" | "client-error" (packet holds the client's ERROR datagram) | "timeout" |
 *          "refused" (ICMP port unreachable) | "aborted" | "io-error" (errno).
 * phase: "negotiating" (waiting for ACK 0 of the OACK) | "sending".
 * base: the first block (absolute, 1-based) the client has not acknowledged.
 *
 * Threads and lifetimes: start() makes the socket on the main thread (so errors are thrown there)
 * and queues the transfer to the engine thread. The engine thread never closes a socket or frees a
 * transfer: it hands each finished one back through a thread-safe function, and the main thread
 * reports, closes and frees it. abort() queues the transfer's id, never a pointer, so a transfer the
 * engine has already handed back is simply not found.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5 };
enum outcome { COMPLETE, CLIENT_ERROR, TIMEOUT, REFUSED, ABORTED, IO_ERROR };
static const char *const OUTCOME_NAMES[] = { "complete", "client-error", "timeout", "refused", "aborted", "io-error" };

/* Largest datagram from a client that we keep whole (an ERROR with its message); longer ones are strays. */
#define MAX_IN 1024

/* What JavaScript holds: it outlives the transfer (the external is freed by the garbage collector),
   so abort() after the report finds t == NULL instead of freed memory. Main thread only. */
typedef struct slot {
  struct transfer *t;
  int refs; /* the external's, and the transfer's until its report */
} slot;

typedef struct transfer {
  uint64_t id;
  int fd;
  slot *slot;
  /* The file, borrowed from a Buffer the main thread keeps referenced until the report. */
  const uint8_t *data;
  size_t size;
  napi_ref data_ref;
  uint32_t blksize;
  uint32_t timeout_ms;
  uint32_t retries;
  uint8_t *oack;
  size_t oack_len;
  napi_threadsafe_function done;
  /* The engine thread's, from the queue until the hand-back. */
  size_t index; /* in the engine's active list */
  int negotiating;
  uint64_t total;
  uint32_t attempts;
  double started;
  double deadline; /* when the packet last sent has waited long enough for its answer */
  /* The result, written before the hand-back. */
  enum outcome outcome;
  uint64_t base;
  uint64_t retransmits;
  uint64_t strays;
  double duration_ms;
  int err;
  uint8_t packet[MAX_IN];
  size_t packet_len;
} transfer;

/* The process's one engine: a thread, its epoll set, and the queues the main thread fills. */
typedef struct engine {
  int epfd;
  int wakefd; /* an eventfd: the main thread queued something */
  pthread_mutex_t lock;
  transfer **queued; /* new transfers */
  size_t nqueued, capqueued;
  uint64_t *aborts; /* ids of transfers to end */
  size_t naborts, capaborts;
  atomic_uint spin_us;
  /* The engine thread's own. */
  transfer **active;
  size_t nactive, capactive;
  double next_deadline; /* no later than the earliest deadline of an active transfer */
} engine;

static engine the_engine = { .epfd = -1, .wakefd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_error; /* errno of a failed start, 0 when running */
static atomic_uint_fast64_t next_id = 1;

static double now_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int grow (void **items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t n = *cap == 0 ? 16 : *cap * 2;
  while (n < need) n *= 2;
  void *p = realloc(*items, n * size);
  if (p == NULL) return -1;
  *items = p;
  *cap = n;
  return 0;
}

/* ---- the engine thread ---- */

static void set_deadline (engine *e, transfer *t, double at) {
  t->deadline = at;
  if (at < e->next_deadline) e->next_deadline = at;
}

/* Hands a transfer back to the main thread; from here on t is not ours to touch. */
static void hand_back (transfer *t, enum outcome outcome, double now) {
  t->outcome = outcome;
  t->duration_ms = now - t->started;
  napi_threadsafe_function done = t->done;
  napi_call_threadsafe_function(done, t, napi_tsfn_nonblocking); /* unbounded queue: never full */
  napi_release_threadsafe_function(done, napi_tsfn_release);
}

/* Ends an active transfer. */
static void finish (engine *e, transfer *t, enum outcome outcome, double now) {
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, t->fd, NULL);
  transfer *last = e->active[--e->nactive];
  e->active[t->index] = last;
  last->index = t->index;
  hand_back(t, outcome, now);
}

static int send_block (transfer *t) {
  const uint64_t block = t->base;
  uint8_t header[4] = { 0, OP_DATA, (uint8_t)(block >> 8), (uint8_t)block };
  size_t offset = (size_t)(block - 1) * t->blksize;
  size_t len = offset >= t->size ? 0 : t->size - offset < t->blksize ? t->size - offset : t->blksize;
  struct iovec iov[2] = { { header, 4 }, { (void *)(t->data + offset), len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1 };
  return sendmsg(t->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* Sends what is due (the OACK while negotiating, else DATA base) and restarts its clock; a send that
   fails for good ends the transfer. One lost to a full queue or a firewall is left to the timer. */
static void send_current (engine *e, transfer *t, double now) {
  int rc = t->negotiating ? (send(t->fd, t->oack, t->oack_len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -1 : 0) : send_block(t);
  if (rc < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EPERM && errno != EINTR) {
    t->err = errno;
    finish(e, t, errno == ECONNREFUSED ? REFUSED : IO_ERROR, now);
    return;
  }
  set_deadline(e, t, now + t->timeout_ms);
}

static void begin (engine *e, transfer *t, double now) {
  t->started = now;
  if (grow((void **)&e->active, &e->capactive, e->nactive + 1, sizeof *e->active) < 0) {
    t->err = ENOMEM;
    hand_back(t, IO_ERROR, now);
    return;
  }
  t->index = e->nactive;
  e->active[e->nactive++] = t;
  t->base = 1;
  t->total = t->size / t->blksize + 1; /* RFC 1350 §6: the last block is short, maybe empty */
  t->negotiating = t->oack != NULL;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, t->fd, &ev) < 0) {
    t->err = errno;
    finish(e, t, IO_ERROR, now);
    return;
  }
  send_current(e, t, now);
}

/* One datagram from the client, if one is there. */
static void receive (engine *e, transfer *t, double now) {
  uint8_t in[MAX_IN];
  struct iovec iov = { .iov_base = in, .iov_len = sizeof in };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t n = recvmsg(t->fd, &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    t->err = errno;
    finish(e, t, errno == ECONNREFUSED ? REFUSED : IO_ERROR, now);
    return;
  }
  if (msg.msg_flags & MSG_TRUNC) {
    /* Longer than MAX_IN: the kernel kept only its first MAX_IN bytes, which may look like a
       well-formed ERROR (a NUL at the cut) though the datagram is not one. Never parse a part. */
    t->strays++;
    return;
  }
  if (n == 4 && in[0] == 0 && in[1] == OP_ACK) { /* RFC 1350 §5: exactly 4 bytes, as the decoder has it */
    const uint16_t wire = (uint16_t)(in[2] << 8 | in[3]);
    if (t->negotiating) {
      if (wire != 0) return; /* only ACK 0 answers the OACK */
      t->negotiating = 0;
    } else {
      /* The 16-bit block number names the absolute block in [base-1, base-1+65535]. */
      const uint64_t prev = t->base - 1;
      const uint64_t acked = prev + (uint16_t)(wire - (uint16_t)prev);
      /* A duplicate ACK of the block before is ignored: resending on it is the Sorcerer's
         Apprentice bug (RFC 1123 §4.2.3.1); only the timer resends. */
      if (acked != t->base) return;
      t->base++;
      if (acked == t->total) {
        finish(e, t, COMPLETE, now);
        return;
      }
    }
    t->attempts = 0;
    send_current(e, t, now);
  } else if (n >= 5 && in[0] == 0 && in[1] == OP_ERROR && memchr(in + 4, 0, (size_t)n - 4) == in + n - 1) {
    /* RFC 1350 §7: an ERROR ends the transfer; TypeScript decodes and words it. Only a well-formed
       one (its message ends at its only NUL, as the decoder requires) counts: anything else is a
       stray, ignored as the event-loop path ignores what it cannot decode. Strays never restart
       the clock. */
    memcpy(t->packet, in, (size_t)n);
    t->packet_len = (size_t)n;
    finish(e, t, CLIENT_ERROR, now);
  } else {
    t->strays++;
  }
}

/* Resends for, or gives up on, every transfer whose wait is over; then recomputes next_deadline. */
static void expire (engine *e, double now) {
  e->next_deadline = INFINITY;
  for (size_t i = 0; i < e->nactive;) {
    transfer *t = e->active[i];
    if (t->deadline > now) {
      if (t->deadline < e->next_deadline) e->next_deadline = t->deadline;
      i++;
      continue;
    }
    const size_t before = e->nactive;
    if (t->attempts >= t->retries) {
      finish(e, t, TIMEOUT, now);
    } else {
      t->attempts++;
      if (!t->negotiating) t->retransmits++;
      send_current(e, t, now);
    }
    if (e->nactive == before) i++; /* else another transfer now sits at i: look at it */
  }
}

static void take_queued (engine *e, double now) {
  uint64_t counter;
  while (read(e->wakefd, &counter, sizeof counter) < 0 && errno == EINTR) {}
  pthread_mutex_lock(&e->lock);
  transfer **queued = e->queued;
  size_t nqueued = e->nqueued;
  uint64_t *aborts = e->aborts;
  size_t naborts = e->naborts;
  e->queued = NULL;
  e->nqueued = e->capqueued = 0;
  e->aborts = NULL;
  e->naborts = e->capaborts = 0;
  pthread_mutex_unlock(&e->lock);
  for (size_t i = 0; i < nqueued; i++) begin(e, queued[i], now);
  for (size_t i = 0; i < naborts; i++) {
    for (size_t j = 0; j < e->nactive; j++) {
      if (e->active[j]->id == aborts[i]) {
        finish(e, e->active[j], ABORTED, now);
        break;
      }
    }
  }
  free(queued);
  free(aborts);
}

/*
 * Most of a lock-step block's round trip on a fast link is the two CPUs waking from sleep, not the
 * work: a thread that sleeps in epoll_wait pays its CPU's wake-up (tens of microseconds in a VM,
 * several on bare metal in deep C-states) once per block, and so does the client that wakes it. So
 * after each datagram the engine polls (epoll_wait with no timeout) for up to spin_us before it
 * sleeps, as the kernel's own socket busy-polling does (SO_BUSY_POLL, which loopback and veth do not
 * support). One thread polls, never more. While clients keep answering within the budget it never
 * sleeps; in a boot storm it is busy anyway. When a whole budget passes without a datagram it backs
 * off: the next 1, 3, 7 ... 255 wake-ups sleep at once, so slow clients cost next to no CPU.
 */
static void *engine_main (void *arg) {
  engine *e = arg;
  struct epoll_event events[64];
  double poll_until = 0;
  uint32_t skip = 0, backoff = 0;
  e->next_deadline = INFINITY;
  for (;;) {
    double now = now_ms();
    const int polling = now < poll_until;
    int timeout = -1;
    if (polling) {
      timeout = 0;
    } else if (e->nactive > 0 && e->next_deadline != INFINITY) {
      const double wait = e->next_deadline - now;
      timeout = wait <= 0 ? 0 : wait > 60000 ? 60000 : (int)wait + 1;
    }
    const int n = epoll_wait(e->epfd, events, sizeof events / sizeof events[0], timeout);
    now = now_ms();
    int datagrams = 0, woken = 0;
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        woken = 1;
      } else {
        receive(e, events[i].data.ptr, now);
        datagrams++;
      }
    }
    /* After the batch: an abort taken first could end a transfer that has an event below it. */
    if (woken) take_queued(e, now);
    if (datagrams > 0) {
      if (polling) backoff = 0; /* a hit: clients answer within the budget */
      const unsigned spin_us = atomic_load_explicit(&e->spin_us, memory_order_relaxed);
      if (skip > 0) skip--;
      else if (spin_us > 0) poll_until = now + spin_us / 1e3;
    } else if (polling && now >= poll_until) {
      if (backoff < 8) backoff++; /* a miss: nothing came within the budget */
      skip = (1u << backoff) - 1;
    }
    if (now >= e->next_deadline) expire(e, now);
  }
  return NULL;
}

static void engine_start (void) {
  engine *e = &the_engine;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  if (e->epfd < 0 || e->wakefd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &ev) < 0) {
    engine_error = errno;
    return;
  }
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, engine_main, e);
  pthread_attr_destroy(&attr);
  if (rc != 0) engine_error = rc;
}

/* Queues work for the engine thread and wakes it. */
static int enqueue (transfer *t, uint64_t abort_id) {
  engine *e = &the_engine;
  pthread_mutex_lock(&e->lock);
  int rc = t != NULL ? grow((void **)&e->queued, &e->capqueued, e->nqueued + 1, sizeof *e->queued)
                     : grow((void **)&e->aborts, &e->capaborts, e->naborts + 1, sizeof *e->aborts);
  if (rc == 0) {
    if (t != NULL) e->queued[e->nqueued++] = t;
    else e->aborts[e->naborts++] = abort_id;
  }
  pthread_mutex_unlock(&e->lock);
  if (rc == 0) {
    const uint64_t one = 1;
    while (write(e->wakefd, &one, sizeof one) < 0 && errno == EINTR) {}
  }
  return rc;
}

/* ---- the main thread ---- */

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

/* Runs on the main thread for each transfer the engine hands back. */
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

static int get_ipv4 (napi_env env, napi_value obj, const char *key, struct in_addr *out) {
  napi_value v;
  char text[INET_ADDRSTRLEN];
  size_t len;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return -1;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok) return -1;
  return inet_pton(AF_INET, text, out) == 1 ? 0 : -1;
}

static napi_value throw_errno (napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_TFTP_NATIVE", message);
  return NULL;
}

/* Reads start()'s options into t; returns what is wrong with them, or NULL. */
static const char *configure_transfer (napi_env env, napi_value opts, transfer *t, struct sockaddr_in *local, struct sockaddr_in *peer) {
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
  pthread_once(&engine_once, engine_start);
  if (engine_error != 0) return throw_errno(env, "tftp lock-step engine", engine_error);
  t = calloc(1, sizeof *t);
  if (t == NULL) goto fail;
  t->fd = -1;
  if ((invalid = configure_transfer(env, argv[0], t, &local, &peer)) != NULL) {
    free_transfer(env, t);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", invalid);
    return NULL;
  }
  /* RFC 1350 §4: the transfer runs between two TIDs; connecting makes the kernel drop other peers. */
  t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&local, sizeof local) < 0 || connect(t->fd, (struct sockaddr *)&peer, sizeof peer) < 0) {
    int err = errno;
    free_transfer(env, t);
    return throw_errno(env, "tftp transfer socket", err);
  }
  t->id = atomic_fetch_add(&next_id, 1);
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
  if (enqueue(t, 0) < 0) {
    napi_release_threadsafe_function(t->done, napi_tsfn_abort);
    goto fail;
  }
  return handle;
fail:
  if (t != NULL) free_transfer(env, t);
  napi_throw_error(env, "ERR_TFTP_NATIVE", "start: out of memory, or a Node-API call failed");
  return NULL;
}

/* Ends a running transfer: it reports "aborted" (unless it ended some other way first). */
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
  if (enqueue(NULL, t->id) < 0) napi_throw_error(env, "ERR_TFTP_NATIVE", "abort: out of memory");
  return NULL;
}

/* Sets how long the engine polls after each datagram before it sleeps (0: never polls). */
static napi_value configure (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t spin_us;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || get_u32(env, argv[0], "spinMicros", &spin_us) < 0 || spin_us > 10000) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "configure: spinMicros must be a whole number of microseconds, 0-10000");
    return NULL;
  }
  atomic_store(&the_engine.spin_us, spin_us);
  return NULL;
}

static napi_value init (napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "start", NULL, start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "abort", NULL, abort_transfer, NULL, NULL, NULL, napi_enumerable, NULL },
    { "configure", NULL, configure, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
