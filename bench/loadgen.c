/*
 * loadgen -- the WebSocket load generator of fallback's benchmarks (`make bench`).
 *
 * Written in C so that, pinned to its own core, it is never the bottleneck: one thread,
 * epoll, every outgoing frame built (and masked) once at start-up.
 *
 *   loadgen MODE PORTS PATH CONNS INFLIGHT WARMUP SECONDS SIZE SOCKJS [OPTIONS]
 *
 *   MODE      echo       every connection keeps INFLIGHT messages in flight
 *             broadcast  connection 0 publishes; a message is done when every
 *                        connection (itself too) received it; INFLIGHT may be pending
 *             idle       open CONNS connections, print "ready", hold them until stdin ends
 *                        (with --stream: connection 0 a WebSocket, the others each holding
 *                        a poll or a stream of that transport)
 *   PORTS     a port, or a comma-separated list: connection i goes to PORTS[i % n]
 *             (so connection 0, the broadcast publisher, is on the first one)
 *   PATH      URL path; with SOCKJS=1 it is a SockJS prefix and each connection opens
 *             PATH/000/<n>/websocket, expects the "o" frame and sends ["..."] arrays
 *   SIZE      message length in bytes
 *
 *   --hello TEXT   send TEXT as one message on every connection once it is open (a
 *                  channel subscribe envelope, say)
 *   --skip N       the first N messages each connection receives are answers to the
 *                  hello (or the server's greeting): the load starts once every
 *                  connection has them, and they are not counted
 *   --first-id N   session ids (c<N>, s<N>) start at N: a second load generator on the
 *                  same service does not take the first one's sessions
 *   --stream TRANSPORT
 *                  broadcast with SOCKJS=1 only: connection 0 (the publisher) stays a
 *                  WebSocket, every other connection receives over an HTTP transport:
 *                  streaming (xhr_streaming, eventsource, htmlfile: chunked responses; a
 *                  response that ends at the server's response_limit is requested
 *                  again) or polling (xhr, jsonp: one response per poll, with a
 *                  Content-Length or chunked, and the next poll as soon as it ends), on
 *                  the same connection or, if the server closed it, on a new one, as
 *                  browsers do
 *   --http-publish PORT,PATH,KEY,CHANNEL
 *                  broadcast only: the publisher is not connection 0 but one keep-alive
 *                  HTTP connection to PORT that POSTs {"channel": CHANNEL, "data":
 *                  "<message>"} to PATH with "Authorization: Bearer KEY" (the backend
 *                  API); every WebSocket connection is a receiver, answers must be 200
 *
 * Prints "measuring" when the warm-up ends and, at the end, one JSON line:
 *   {"messages": ..., "seconds": ..., "rate": ..., "cpu": ..., "published": ...,
 *    "responses": ..., "latency_ms": [P50, P99]}
 * where messages counts messages received by all connections during the measurement,
 * cpu is this process's CPU seconds in the same interval and published the messages the
 * broadcast publisher completed in it, responses the HTTP responses that ended in it
 * (--stream: polls answered, streams that reached the response limit), and latency_ms
 * (broadcast) the median and 99th percentile of the time from a message's publication
 * to its arrival at the last receiver.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING 4096

enum { ST_HEAD, ST_SIZE, ST_DATA, ST_CRLF, ST_TRAILER, ST_BODY };

typedef struct conn conn_t;
struct conn {
    int fd;
    int open;              /* SockJS "o" frame seen (or raw: handshake done) */
    char *buf;
    size_t len, cap;
    long received;         /* messages received (after the skipped ones) */
    int skipped;           /* answers to the hello received so far */
    int outstanding;       /* echo: messages sent and not yet echoed */
    /* --stream receivers: the request (sent again when a response ends), where the
     * chunked response parser is, and the decoded body not yet split into lines. */
    char *request;
    size_t request_len;
    int st;
    int close_after;       /* the response said "Connection: close" */
    int port;              /* where to reconnect */
    size_t chunk_left;
    conn_t *text;
};

static int sockjs;
static conn_t *conns;
static int nconns;
static char **frames;      /* per connection: one masked client message frame */
static size_t frame_len;   /* all frames have the same length */
static long counting;      /* messages received while measuring */
static long responses;     /* --stream: HTTP responses completed while measuring */
static int measuring;
static unsigned done_count[RING];
static double sent_at[RING];  /* broadcast: when each message in the ring went out */
/* broadcast, while measuring: how long each message took to reach every receiver */
#define MAX_LATENCIES 1000000
static double *latencies;
static long nlatencies;
static long bsent, bcompleted;
static int skip;           /* --skip */
static int first_id;       /* --first-id: session ids start here, not at 0 */
static const char *stream_transport; /* --stream */
static int wrapped;        /* --stream jsonp or htmlfile: frames inside a JavaScript string */
static int ep = -1;        /* the epoll instance */
/* --http-publish: the publisher connection, its prebuilt request, what it has read. */
static int http_fd = -1;
static char *http_request;
static size_t http_request_len;
static conn_t http_in;
static long http_answers;

/* Many connections need more descriptors than the default limit; root may raise it. */
static void raise_file_limit(rlim_t want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want) return;
    rl.rlim_cur = want;
    if (rl.rlim_max < want) rl.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "cannot raise the open file limit to %lu: %s\n", (unsigned long)want,
                strerror(errno));
        exit(2);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double q) {
    if (!nlatencies) return 0;
    long i = (long)(q * (double)(nlatencies - 1));
    return latencies[i] * 1000;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void send_all(int fd, const char *data, size_t n) {
    while (n) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                /* Loopback buffers are large; a short spin is enough here. */
                continue;
            }
            die("send");
        }
        data += w;
        n -= (size_t)w;
    }
}

/* A masked client text frame carrying `payload`. */
static char *client_frame(const char *payload, size_t plen, size_t *len) {
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    char *frame = malloc(plen + 14);
    size_t h = 0;
    frame[h++] = (char)0x81;
    if (plen < 126) {
        frame[h++] = (char)(0x80 | plen);
    } else {
        frame[h++] = (char)(0x80 | 126);
        frame[h++] = (char)(plen >> 8);
        frame[h++] = (char)(plen & 0xff);
    }
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < plen; i++) frame[h + i] = (char)(payload[i] ^ mask[i % 4]);
    *len = h + plen;
    return frame;
}

/* The message of connection `c`: SIZE bytes starting with the connection's own number,
 * so that no two connections send the same bytes (a server cannot profit from identical
 * messages in echo). Only letters and digits: it needs no JSON escaping. */
static void message_text(char *out, int size, int c) {
    char number[16];
    int digits = snprintf(number, sizeof number, "%08d", c);
    for (int i = 0; i < size; i++) out[i] = i < digits ? number[i] : (char)('a' + i % 26);
}

static void build_frames(int size, int count) {
    frames = calloc((size_t)count, sizeof *frames);
    char *payload = malloc((size_t)size + 16);
    for (int c = 0; c < count; c++) {
        size_t plen = 0;
        if (sockjs) {
            payload[plen++] = '[';
            payload[plen++] = '"';
        }
        message_text(payload + plen, size, c);
        plen += (size_t)size;
        if (sockjs) {
            payload[plen++] = '"';
            payload[plen++] = ']';
        }
        frames[c] = client_frame(payload, plen, &frame_len);
    }
    free(payload);
}

/* --hello: TEXT as one message (a JSON string in a SockJS array when SOCKJS=1). */
static char *hello_frame(const char *text, size_t *len) {
    size_t n = strlen(text);
    char *payload = malloc(2 * n + 8);
    size_t plen = 0;
    if (sockjs) {
        payload[plen++] = '[';
        payload[plen++] = '"';
    }
    for (size_t i = 0; i < n; i++) {
        if (sockjs && (text[i] == '"' || text[i] == '\\')) payload[plen++] = '\\';
        payload[plen++] = text[i];
    }
    if (sockjs) {
        payload[plen++] = '"';
        payload[plen++] = ']';
    }
    char *frame = client_frame(payload, plen, len);
    free(payload);
    return frame;
}

/* --http-publish: one POST of the backend API, sent as is for every publish. */
static void build_http_request(int port, const char *path, const char *key, const char *channel,
                               int size) {
    char *data = malloc((size_t)size + 1);
    message_text(data, size, 0);
    data[size] = 0;
    size_t body_cap = strlen(channel) + (size_t)size + 64;
    char *body = malloc(body_cap);
    int blen = snprintf(body, body_cap, "{\"channel\": \"%s\", \"data\": \"%s\"}", channel, data);
    size_t cap = (size_t)blen + strlen(path) + strlen(key) + 256;
    http_request = malloc(cap);
    http_request_len = (size_t)snprintf(
        http_request, cap,
        "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
        path, port, key, blen, body);
    free(body);
    free(data);
}

static void append(conn_t *c, const char *data, size_t n) {
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
}

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int connect_one(int port, const char *path, int index) {
    int fd = tcp_connect(port);
    char req[1024];
    char target[512];
    if (sockjs)
        snprintf(target, sizeof target, "%s/000/c%d/websocket", path, first_id + index);
    else
        snprintf(target, sizeof target, "%s", path);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     target, port);
    send_all(fd, req, (size_t)n);
    return fd;
}

/* Reads the handshake response; leftover bytes go to the connection's buffer. */
static void finish_handshake(conn_t *c) {
    char tmp[4096];
    size_t have = 0;
    for (;;) {
        ssize_t r = recv(c->fd, tmp + have, sizeof tmp - have, 0);
        if (r <= 0) die("handshake recv");
        have += (size_t)r;
        char *end = memmem(tmp, have, "\r\n\r\n", 4);
        if (end) {
            if (strncmp(tmp, "HTTP/1.1 101", 12) != 0) {
                fprintf(stderr, "handshake refused: %.*s\n", (int)have, tmp);
                exit(2);
            }
            size_t head = (size_t)(end - tmp) + 4;
            append(c, tmp + head, have - head);
            return;
        }
        if (have == sizeof tmp) {
            fprintf(stderr, "handshake response too long\n");
            exit(2);
        }
    }
}

static void send_messages(conn_t *c, int count) {
    if (count <= 0) return;
    const char *frame = frames[c - conns];
    char stack[8192];
    size_t need = frame_len * (size_t)count;
    char *out = need <= sizeof stack ? stack : malloc(need);
    for (int i = 0; i < count; i++) memcpy(out + frame_len * (size_t)i, frame, frame_len);
    send_all(c->fd, out, need);
    if (out != stack) free(out);
}

/* Messages carried by one text frame from the server: the strings of a SockJS "a[...]"
 * array (a JSON array of strings, so a string ends at an unescaped quote). */
static int messages_in(conn_t *c, const char *p, size_t n) {
    if (!sockjs) return 1;
    if (n == 0) return 0;
    if (p[0] == 'o') {
        c->open = 1;
        return 0;
    }
    if (p[0] == 'h') return 0;
    if (p[0] == 'c') {
        fprintf(stderr, "server closed a session: %.*s\n", (int)n, p);
        exit(2);
    }
    int strings = 0, in_string = 0;
    for (size_t i = 1; i < n; i++) {
        if (!in_string) {
            in_string = p[i] == '"';
        } else if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            in_string = 0;
            strings++;
        }
    }
    return strings;
}

/* The messages of one frame that count: the first `skip` a connection gets do not. */
static int counted(conn_t *c, const char *p, size_t n) {
    int got = messages_in(c, p, n);
    while (got > 0 && c->skipped < skip) {
        c->skipped++;
        got--;
    }
    return got;
}

/* A frame written as a JavaScript string literal, as JSONP (`c("a[\\"x\\"]");`) and
 * htmlfile (`<script>\np("a[...]");\n</script>`) carry it: the frame, unescaped into
 * `out`. The benchmark's messages are plain ASCII, so \" and \\ are the only escapes. */
static size_t unwrap(const char *p, size_t n, char *out, size_t cap) {
    const char *open = memchr(p, '"', n);
    if (!open) return 0;
    size_t k = 0;
    for (const char *q = open + 1; q < p + n && k < cap; q++) {
        if (*q == '\\' && q + 1 < p + n) {
            out[k++] = *++q;
        } else if (*q == '"') {
            break;
        } else {
            out[k++] = *q;
        }
    }
    return k;
}

/* --stream: body text of a response, one frame per line ("a[...]\n" for xhr and
 * xhr_streaming, "data: a[...]\r\n\r\n" for eventsource, a call per line for jsonp
 * and htmlfile; the prelude is a line of 'h's, an empty line or the htmlfile page). */
static int stream_text(conn_t *c, const char *p, size_t n) {
    static char frame[1 << 20];
    conn_t *t = c->text;
    append(t, p, n);
    int total = 0;
    size_t pos = 0;
    for (;;) {
        char *line = t->buf + pos;
        char *nl = memchr(line, '\n', t->len - pos);
        if (!nl) break;
        size_t len = (size_t)(nl - line);
        pos += len + 1;
        if (len && line[len - 1] == '\r') len--;
        if (wrapped) {
            /* Only the calls carry frames: c("..."), p("...") or a commented c("..."). */
            char *call = memmem(line, len, "(\"", 2);
            if (!call || call == line || (call[-1] != 'c' && call[-1] != 'p')) continue;
            len = unwrap(line, len, frame, sizeof frame);
            line = frame;
        } else if (len >= 6 && memcmp(line, "data: ", 6) == 0) {
            line += 6;
            len -= 6;
        }
        if (len) total += counted(c, line, len);
    }
    if (pos) {
        memmove(t->buf, t->buf + pos, t->len - pos);
        t->len -= pos;
    }
    return total;
}

/* --stream: one chunked HTTP response after another on a keep-alive connection. */
static int parse_stream(conn_t *c) {
    int total = 0;
    size_t pos = 0;
    for (;;) {
        char *p = c->buf + pos;
        size_t n = c->len - pos;
        if (c->st == ST_HEAD) {
            char *end = memmem(p, n, "\r\n\r\n", 4);
            if (!end) break;
            size_t head = (size_t)(end - p);
            if (strncmp(p, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "not a 200 answer: %.*s\n", (int)head, p);
                exit(2);
            }
            c->close_after = memmem(p, head, "Connection: close", 17) != NULL;
            c->st = ST_SIZE;
            if (!memmem(p, head, "hunked", 6)) {
                /* A poll's answer: a body of Content-Length bytes. */
                char *length = memmem(p, head, "Content-Length:", 15);
                if (!length) {
                    fprintf(stderr, "neither chunked nor Content-Length: %.*s\n", (int)head, p);
                    exit(2);
                }
                c->chunk_left = strtoul(length + 15, NULL, 10);
                c->st = ST_BODY;
            }
            pos += head + 4;
        } else if (c->st == ST_SIZE) {
            char *eol = memmem(p, n, "\r\n", 2);
            if (!eol) break;
            c->chunk_left = strtoul(p, NULL, 16);
            pos += (size_t)(eol - p) + 2;
            c->st = c->chunk_left ? ST_DATA : ST_TRAILER;
        } else if (c->st == ST_DATA) {
            if (n == 0) break;
            size_t take = n < c->chunk_left ? n : c->chunk_left;
            total += stream_text(c, p, take);
            pos += take;
            c->chunk_left -= take;
            if (c->chunk_left == 0) c->st = ST_CRLF;
        } else if (c->st == ST_BODY) {
            size_t take = n < c->chunk_left ? n : c->chunk_left;
            if (take) total += stream_text(c, p, take);
            pos += take;
            c->chunk_left -= take;
            if (c->chunk_left) break;
            if (c->text->len) total += stream_text(c, "\n", 1); /* a last line without \n */
            c->st = ST_HEAD;
            if (measuring) responses++;
            if (!c->close_after) send_all(c->fd, c->request, c->request_len);
        } else if (c->st == ST_CRLF) {
            if (n < 2) break;
            pos += 2;
            c->st = ST_SIZE;
        } else { /* ST_TRAILER: the response ended (response_limit); ask again */
            if (n < 2) break;
            pos += 2;
            c->st = ST_HEAD;
            if (measuring) responses++;
            if (c->text->len) total += stream_text(c, "\n", 1); /* a last line without \n */
            /* A server that said "Connection: close" closes now: receive() reconnects. */
            if (!c->close_after) send_all(c->fd, c->request, c->request_len);
        }
    }
    if (pos) {
        memmove(c->buf, c->buf + pos, c->len - pos);
        c->len -= pos;
    }
    return total;
}

static int parse(conn_t *c) {
    if (c->text) return parse_stream(c);
    int total = 0;
    size_t pos = 0;
    while (c->len - pos >= 2) {
        unsigned char b0 = (unsigned char)c->buf[pos], b1 = (unsigned char)c->buf[pos + 1];
        size_t plen = b1 & 0x7f, head = 2;
        if (plen == 126) {
            if (c->len - pos < 4) break;
            plen = ((size_t)(unsigned char)c->buf[pos + 2] << 8) | (unsigned char)c->buf[pos + 3];
            head = 4;
        } else if (plen == 127) {
            if (c->len - pos < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = (plen << 8) | (unsigned char)c->buf[pos + 2 + i];
            head = 10;
        }
        if (c->len - pos < head + plen) break;
        int opcode = b0 & 0x0f;
        if (opcode == 1) {
            total += counted(c, c->buf + pos + head, plen);
        } else if (opcode == 8) {
            fprintf(stderr, "server sent a close frame\n");
            exit(2);
        }
        pos += head + plen;
    }
    if (pos) {
        memmove(c->buf, c->buf + pos, c->len - pos);
        c->len -= pos;
    }
    return total;
}

/* Reads the publisher's HTTP answers: each must be a 200 with a Content-Length body. */
static void drain_http(void) {
    char tmp[65536];
    for (;;) {
        ssize_t r = recv(http_fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            append(&http_in, tmp, (size_t)r);
            if ((size_t)r < sizeof tmp) break;
            continue;
        }
        if (r == 0) {
            fprintf(stderr, "server closed the publisher's HTTP connection\n");
            exit(2);
        }
        if (errno == EAGAIN || errno == EINTR) break;
        die("recv (publisher)");
    }
    size_t pos = 0;
    for (;;) {
        char *start = http_in.buf + pos;
        char *end = memmem(start, http_in.len - pos, "\r\n\r\n", 4);
        if (!end) break;
        size_t head = (size_t)(end - start) + 4;
        if (strncmp(start, "HTTP/1.1 200 ", 13) != 0) {
            fprintf(stderr, "publish refused: %.*s\n", (int)(http_in.len - pos), start);
            exit(2);
        }
        long body = -1;
        for (char *line = start; line < end; line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "Content-Length:", 15) == 0) body = atol(line + 15);
        }
        if (body < 0) {
            fprintf(stderr, "publish answered without Content-Length\n");
            exit(2);
        }
        if (http_in.len - pos < head + (size_t)body) break;
        pos += head + (size_t)body;
        http_answers++;
    }
    if (pos) {
        memmove(http_in.buf, http_in.buf + pos, http_in.len - pos);
        http_in.len -= pos;
    }
}

static void publish(int window) {
    long room = (long)window - (bsent - bcompleted);
    if (room <= 0) return;
    double t = now();
    for (long i = 0; i < room; i++) sent_at[(bsent + i) % RING] = t;
    if (http_fd >= 0) {
        for (long i = 0; i < room; i++) send_all(http_fd, http_request, http_request_len);
    } else {
        send_messages(&conns[0], (int)room);
    }
    bsent += room;
}

/* Reads what arrived on connection `c`; returns the messages it completed. */
static int receive(conn_t *c, char *rbuf, size_t size) {
    for (;;) {
        ssize_t r = recv(c->fd, rbuf, size, 0);
        if (r > 0) {
            append(c, rbuf, (size_t)r);
            if ((size_t)r < size) break;
            continue;
        }
        if (r == 0 && c->text && c->st == ST_HEAD) {
            /* A streaming response ended and the server closed the connection
             * (Connection: close): ask again on a new one. */
            int index = (int)(c - conns);
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->len = 0;
            c->fd = tcp_connect(c->port);
            send_all(c->fd, c->request, c->request_len);
            fcntl(c->fd, F_SETFL, O_NONBLOCK);
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)index};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
            break;
        }
        if (r == 0) {
            fprintf(stderr, "server closed a connection\n");
            exit(2);
        }
        if (errno == EAGAIN || errno == EINTR) break;
        die("recv");
    }
    return parse(c);
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen MODE PORTS PATH CONNS INFLIGHT WARMUP SECONDS SIZE SOCKJS "
            "[--hello TEXT] [--skip N] [--http-publish PORT,PATH,KEY,CHANNEL] "
            "[--stream xhr_streaming|eventsource|htmlfile|xhr|jsonp] [--first-id N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *hello = NULL, *http_spec = NULL;
    static const struct option options[] = {
        {"hello", required_argument, NULL, 'h'},
        {"skip", required_argument, NULL, 's'},
        {"http-publish", required_argument, NULL, 'p'},
        {"stream", required_argument, NULL, 't'},
        {"first-id", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'h') hello = optarg;
        else if (opt == 's') skip = atoi(optarg);
        else if (opt == 'p') http_spec = optarg;
        else if (opt == 't') stream_transport = optarg;
        else if (opt == 'f') first_id = atoi(optarg);
        else usage();
    }
    /* Options may come before or after the positional arguments. */
    char *positional[9];
    int npos = 0;
    for (int i = optind; i < argc; i++) {
        if (npos == 9) usage();
        positional[npos++] = argv[i];
    }
    if (npos != 9) usage();
    const char *mode = positional[0];
    int ports[64], nports = 0;
    for (char *p = positional[1]; *p && nports < 64;) {
        ports[nports++] = atoi(p);
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    const char *path = positional[2];
    nconns = atoi(positional[3]);
    int inflight = atoi(positional[4]);
    double warmup = atof(positional[5]), seconds = atof(positional[6]);
    int size = atoi(positional[7]);
    sockjs = atoi(positional[8]);
    int broadcast = strcmp(mode, "broadcast") == 0;
    int idle = strcmp(mode, "idle") == 0;
    if (nports == 0 || nconns < 1) usage();
    if (http_spec && !broadcast) {
        fprintf(stderr, "--http-publish needs the broadcast mode\n");
        return 2;
    }
    static const char *receivers[] = {"xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp"};
    int known = 0;
    for (size_t k = 0; stream_transport && k < sizeof receivers / sizeof *receivers; k++) {
        known |= strcmp(stream_transport, receivers[k]) == 0;
    }
    if (stream_transport && (!(broadcast || idle) || !sockjs || !known)) {
        fprintf(stderr, "--stream takes xhr_streaming, eventsource, htmlfile, xhr or jsonp, "
                        "in broadcast or idle with SOCKJS=1\n");
        return 2;
    }
    wrapped = stream_transport && (strcmp(stream_transport, "jsonp") == 0 ||
                                   strcmp(stream_transport, "htmlfile") == 0);
    if (inflight >= RING) inflight = RING - 1;
    raise_file_limit((rlim_t)nconns + 64);
    latencies = malloc(MAX_LATENCIES * sizeof *latencies);
    conns = calloc((size_t)nconns, sizeof *conns);
    build_frames(size, nconns);
    size_t hello_len = 0;
    char *hello_bytes = hello ? hello_frame(hello, &hello_len) : NULL;
    for (int i = 0; i < nconns; i++) {
        int port = ports[i % nports];
        if (stream_transport && i > 0) {
            conn_t *c = &conns[i];
            int post = strcmp(stream_transport, "xhr_streaming") == 0 ||
                       strcmp(stream_transport, "xhr") == 0;
            const char *query = wrapped ? "?c=c" : "";
            char request[1024];
            int n = snprintf(request, sizeof request,
                             "%s %s/000/s%d/%s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n",
                             post ? "POST" : "GET", path, first_id + i, stream_transport, query, port,
                             post ? "Content-Length: 0\r\n" : "");
            c->request = strdup(request);
            c->request_len = (size_t)n;
            c->text = calloc(1, sizeof *c->text);
            c->port = port;
            c->fd = tcp_connect(port);
            send_all(c->fd, c->request, c->request_len);
        } else {
            conns[i].fd = connect_one(port, path, i);
        }
    }
    for (int i = 0; i < nconns; i++) {
        if (!conns[i].text) finish_handshake(&conns[i]);
    }

    ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) die("epoll_ctl");
        if (!sockjs) conns[i].open = 1;
        parse(&conns[i]);
    }
    /* Wait until every SockJS session has opened (and has the answers to its hello). */
    struct epoll_event events[1024];
    char rbuf[65536];
    int ready = 0;
    double deadline = now() + 30 + nconns / 2000.0; /* 100,000 sessions take a while */
    for (;;) {
        ready = 0;
        for (int i = 0; i < nconns; i++) {
            conn_t *c = &conns[i];
            if (c->open && hello_bytes && c->open == 1) {
                send_all(c->fd, hello_bytes, hello_len);
                c->open = 2; /* hello sent */
            }
            ready += c->open && c->skipped == skip;
        }
        if (ready == nconns) break;
        if (now() > deadline) {
            fprintf(stderr, "only %d of %d sessions ready\n", ready, nconns);
            return 2;
        }
        int n = epoll_wait(ep, events, 1024, 100);
        for (int e = 0; e < n; e++) {
            conn_t *c = &conns[events[e].data.u32];
            if (receive(c, rbuf, sizeof rbuf) > 0) {
                fprintf(stderr, "a connection received a message before the load started\n");
                return 2;
            }
        }
    }
    if (idle) {
        printf("ready\n");
        fflush(stdout);
        while (read(0, rbuf, sizeof rbuf) > 0) {
        }
        return 0;
    }

    if (http_spec) {
        char spec[1024];
        snprintf(spec, sizeof spec, "%s", http_spec);
        char *fields[4];
        char *rest = spec;
        for (int i = 0; i < 4; i++) {
            fields[i] = strsep(&rest, ",");
            if (!fields[i]) usage();
        }
        int http_port = atoi(fields[0]);
        build_http_request(http_port, fields[1], fields[2], fields[3], size);
        http_fd = tcp_connect(http_port);
        fcntl(http_fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)nconns};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, http_fd, &ev) < 0) die("epoll_ctl");
    }
    if (broadcast) {
        publish(inflight);
    } else {
        for (int i = 0; i < nconns; i++) {
            send_messages(&conns[i], inflight);
            conns[i].outstanding = inflight;
        }
    }
    double start = now(), measure_start = start + warmup, end = measure_start + seconds;
    double cpu_start = 0;
    long published_start = 0;
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_start) {
            measuring = 1;
            counting = 0;
            responses = 0;
            published_start = bcompleted;
            cpu_start = cpu_seconds();
            printf("measuring\n");
            fflush(stdout);
        }
        if (t >= end) break;
        int n = epoll_wait(ep, events, 1024, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < n; e++) {
            if (events[e].data.u32 == (unsigned)nconns) {
                drain_http();
                continue;
            }
            conn_t *c = &conns[events[e].data.u32];
            int got = receive(c, rbuf, sizeof rbuf);
            if (!got) continue;
            if (measuring) counting += got;
            if (broadcast) {
                for (int k = 0; k < got; k++) done_count[(c->received + k) % RING]++;
                c->received += got;
            } else {
                c->received += got;
                c->outstanding -= got;
                send_messages(c, inflight - c->outstanding);
                c->outstanding = inflight;
            }
        }
        if (broadcast) {
            while (bcompleted < bsent && done_count[bcompleted % RING] == (unsigned)nconns) {
                done_count[bcompleted % RING] = 0;
                if (measuring && nlatencies < MAX_LATENCIES)
                    latencies[nlatencies++] = now() - sent_at[bcompleted % RING];
                bcompleted++;
            }
            publish(inflight);
        }
    }
    double elapsed = now() - measure_start;
    double cpu = cpu_seconds() - cpu_start;
    qsort(latencies, (size_t)nlatencies, sizeof *latencies, cmp_double);
    printf("{\"messages\": %ld, \"seconds\": %.3f, \"rate\": %.1f, \"cpu\": %.3f, "
           "\"published\": %ld, \"responses\": %ld, \"latency_ms\": [%.3f, %.3f]}\n",
           counting, elapsed, counting / elapsed, cpu, bcompleted - published_start, responses,
           percentile(0.5), percentile(0.99));
    fflush(stdout);
    return 0;
}
