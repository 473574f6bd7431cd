/*
 * loadgen -- the WebSocket load generator of fallback's benchmarks (`make bench`).
 *
 * Written in C so that, pinned to its own core, it is never the bottleneck: one thread,
 * epoll, every outgoing frame built (and masked) once at start-up.
 *
 *   loadgen MODE PORT PATH CONNS INFLIGHT WARMUP SECONDS SIZE SOCKJS
 *
 *   MODE      echo       every connection keeps INFLIGHT messages in flight
 *             broadcast  connection 0 publishes; a message is done when every
 *                        connection (itself too) received it; INFLIGHT may be pending
 *             idle       open CONNS connections, print "ready", hold them until stdin ends
 *   PATH      URL path; with SOCKJS=1 it is a SockJS prefix and each connection opens
 *             PATH/000/<n>/websocket, expects the "o" frame and sends ["..."] arrays
 *   SIZE      message length in bytes
 *
 * Prints "measuring" when the warm-up ends and, at the end, one JSON line:
 *   {"messages": ..., "seconds": ..., "rate": ..., "cpu": ...}
 * where messages counts messages received by all connections during the measurement
 * and cpu is this process's CPU seconds in the same interval.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING 4096

typedef struct {
    int fd;
    int open;              /* SockJS "o" frame seen (or raw: handshake done) */
    char *buf;
    size_t len, cap;
    long received;         /* messages received */
    int outstanding;       /* echo: messages sent and not yet echoed */
} conn_t;

static int sockjs;
static conn_t *conns;
static int nconns;
static char **frames;      /* per connection: one masked client message frame */
static size_t frame_len;   /* all frames have the same length */
static long counting;      /* messages received while measuring */
static int measuring;
static unsigned done_count[RING];
static long bsent, bcompleted;

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

/* Each connection's message starts with its own number, so that no two connections
 * send the same bytes (a server cannot profit from identical messages in echo). */
static void build_frames(int size, int count) {
    frames = calloc((size_t)count, sizeof *frames);
    char *payload = malloc((size_t)size + 16);
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    for (int c = 0; c < count; c++) {
        size_t plen = 0;
        if (sockjs) {
            payload[plen++] = '[';
            payload[plen++] = '"';
        }
        char number[16];
        int digits = snprintf(number, sizeof number, "%08d", c);
        for (int i = 0; i < size; i++)
            payload[plen++] = i < digits ? number[i] : (char)('a' + i % 26);
        if (sockjs) {
            payload[plen++] = '"';
            payload[plen++] = ']';
        }
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
        frame_len = h + plen;
        frames[c] = frame;
    }
    free(payload);
}

static void append(conn_t *c, const char *data, size_t n) {
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
}

static int connect_one(int port, const char *path, int index) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[1024];
    char target[512];
    if (sockjs)
        snprintf(target, sizeof target, "%s/000/c%d/websocket", path, index);
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

/* Messages carried by one text frame from the server. */
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
    int quotes = 0;
    for (size_t i = 0; i < n; i++) quotes += p[i] == '"';
    return quotes / 2;
}

static int parse(conn_t *c) {
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
            total += messages_in(c, c->buf + pos + head, plen);
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

static void publish(void) {
    long room = (long)conns[0].outstanding - (bsent - bcompleted);
    if (room > 0) {
        send_messages(&conns[0], (int)room);
        bsent += room;
    }
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: loadgen MODE PORT PATH CONNS INFLIGHT WARMUP SECONDS SIZE SOCKJS\n");
        return 2;
    }
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    const char *path = argv[3];
    nconns = atoi(argv[4]);
    int inflight = atoi(argv[5]);
    double warmup = atof(argv[6]), seconds = atof(argv[7]);
    int size = atoi(argv[8]);
    sockjs = atoi(argv[9]);
    int broadcast = strcmp(mode, "broadcast") == 0;
    int idle = strcmp(mode, "idle") == 0;
    if (inflight >= RING) inflight = RING - 1;
    conns = calloc((size_t)nconns, sizeof *conns);
    build_frames(size, nconns);
    for (int i = 0; i < nconns; i++) conns[i].fd = connect_one(port, path, i);
    for (int i = 0; i < nconns; i++) finish_handshake(&conns[i]);

    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) die("epoll_ctl");
        if (!sockjs) conns[i].open = 1;
        parse(&conns[i]);
    }
    /* Wait until every SockJS session has opened. */
    struct epoll_event events[1024];
    char rbuf[65536];
    int opened = 0;
    double deadline = now() + 30;
    while (opened < nconns) {
        opened = 0;
        for (int i = 0; i < nconns; i++) opened += conns[i].open;
        if (opened == nconns) break;
        if (now() > deadline) {
            fprintf(stderr, "only %d of %d sessions opened\n", opened, nconns);
            return 2;
        }
        int n = epoll_wait(ep, events, 1024, 100);
        for (int e = 0; e < n; e++) {
            conn_t *c = &conns[events[e].data.u32];
            ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
            if (r > 0) {
                append(c, rbuf, (size_t)r);
                parse(c);
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

    if (broadcast) {
        conns[0].outstanding = inflight; /* the publisher's window */
        publish();
    } else {
        for (int i = 0; i < nconns; i++) {
            send_messages(&conns[i], inflight);
            conns[i].outstanding = inflight;
        }
    }
    double start = now(), measure_start = start + warmup, end = measure_start + seconds;
    double cpu_start = 0;
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_start) {
            measuring = 1;
            counting = 0;
            cpu_start = cpu_seconds();
            printf("measuring\n");
            fflush(stdout);
        }
        if (t >= end) break;
        int n = epoll_wait(ep, events, 1024, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < n; e++) {
            conn_t *c = &conns[events[e].data.u32];
            for (;;) {
                ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
                if (r > 0) {
                    append(c, rbuf, (size_t)r);
                    if ((size_t)r < sizeof rbuf) break;
                    continue;
                }
                if (r == 0) {
                    fprintf(stderr, "server closed a connection\n");
                    return 2;
                }
                if (errno == EAGAIN || errno == EINTR) break;
                die("recv");
            }
            int got = parse(c);
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
                bcompleted++;
            }
            publish();
        }
    }
    double elapsed = now() - measure_start;
    double cpu = cpu_seconds() - cpu_start;
    printf("{\"messages\": %ld, \"seconds\": %.3f, \"rate\": %.1f, \"cpu\": %.3f}\n", counting,
           elapsed, counting / elapsed, cpu);
    fflush(stdout);
    return 0;
}
