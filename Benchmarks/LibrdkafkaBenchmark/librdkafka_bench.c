/*
 * librdkafka-bench: the librdkafka side of Benchmarks/client_bench.py, in C, so that no interpreter sits between the
 * records and librdkafka. It does what fjord-client-bench (Benchmarks/ClientBenchmark) does with FjordClient and
 * prints the same JSON line: {"messages": N, "seconds": S, "librdkafka": "VERSION"}; the driver measures this
 * process's CPU time.
 *
 *   librdkafka-bench produce --bootstrap 127.0.0.1:9092 --topic t --count 100000 --size 100 [--batch-size 1000000]
 *   librdkafka-bench consume --bootstrap 127.0.0.1:9092 --topic t --count 100000 --partitions 4
 *   (both take --librdkafka PATH: the shared library to load, default librdkafka.so.1)
 *
 * produce: one payload of SIZE random bytes, rd_kafka_produce() with RD_KAFKA_MSG_F_COPY per record (as
 * confluent-kafka does), rd_kafka_poll(0) every 16,384 records and on a full queue, then rd_kafka_flush();
 * acks=1, linger.ms=5, enable.idempotence=false, batch.size as given, delivery reports for errors only.
 * consume: assign() of every partition at the beginning, rd_kafka_consume_batch_queue() in batches of up to 10,000
 * (what confluent-kafka's consume(num_messages=10000) calls) until COUNT records; fetch.queue.backoff.ms=10.
 *
 * librdkafka is loaded with dlopen() and its functions declared here (its C ABI is stable), so the bench needs no
 * librdkafka headers and runs against the exact library client_bench.py picks: the one of the confluent-kafka wheel.
 * Build: cc -O2 -o librdkafka-bench librdkafka_bench.c -ldl   (make bench does)
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;
typedef struct rd_kafka_message_s { /* rdkafka.h: rd_kafka_message_t */
    int err;
    rd_kafka_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *_private;
} rd_kafka_message_t;

enum { RD_KAFKA_PRODUCER = 0, RD_KAFKA_CONSUMER = 1, RD_KAFKA_CONF_OK = 0, RD_KAFKA_MSG_F_COPY = 0x2 };
enum { RD_KAFKA_PARTITION_UA = -1, RD_KAFKA_OFFSET_BEGINNING = -2, RD_KAFKA_RESP_ERR__QUEUE_FULL = -184,
       RD_KAFKA_RESP_ERR__PARTITION_EOF = -191 };

#define LIBRDKAFKA_FUNCTIONS(X) \
    X(const char *, rd_kafka_version_str, (void)) \
    X(rd_kafka_conf_t *, rd_kafka_conf_new, (void)) \
    X(int, rd_kafka_conf_set, (rd_kafka_conf_t *, const char *, const char *, char *, size_t)) \
    X(void, rd_kafka_conf_set_dr_msg_cb, (rd_kafka_conf_t *, void (*)(rd_kafka_t *, const rd_kafka_message_t *, void *))) \
    X(rd_kafka_t *, rd_kafka_new, (int, rd_kafka_conf_t *, char *, size_t)) \
    X(void, rd_kafka_destroy, (rd_kafka_t *)) \
    X(rd_kafka_topic_t *, rd_kafka_topic_new, (rd_kafka_t *, const char *, void *)) \
    X(void, rd_kafka_topic_destroy, (rd_kafka_topic_t *)) \
    X(int, rd_kafka_produce, (rd_kafka_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *)) \
    X(int, rd_kafka_last_error, (void)) \
    X(const char *, rd_kafka_err2str, (int)) \
    X(int, rd_kafka_poll, (rd_kafka_t *, int)) \
    X(int, rd_kafka_flush, (rd_kafka_t *, int)) \
    X(rd_kafka_topic_partition_list_t *, rd_kafka_topic_partition_list_new, (int)) \
    X(void *, rd_kafka_topic_partition_list_add, (rd_kafka_topic_partition_list_t *, const char *, int32_t)) \
    X(int, rd_kafka_topic_partition_list_set_offset, (rd_kafka_topic_partition_list_t *, const char *, int32_t, int64_t)) \
    X(void, rd_kafka_topic_partition_list_destroy, (rd_kafka_topic_partition_list_t *)) \
    X(int, rd_kafka_assign, (rd_kafka_t *, const rd_kafka_topic_partition_list_t *)) \
    X(int, rd_kafka_poll_set_consumer, (rd_kafka_t *)) \
    X(rd_kafka_queue_t *, rd_kafka_queue_get_consumer, (rd_kafka_t *)) \
    X(void, rd_kafka_queue_destroy, (rd_kafka_queue_t *)) \
    X(ssize_t, rd_kafka_consume_batch_queue, (rd_kafka_queue_t *, int, rd_kafka_message_t **, size_t)) \
    X(void, rd_kafka_message_destroy, (rd_kafka_message_t *)) \
    X(int, rd_kafka_consumer_close, (rd_kafka_t *))

#define DECLARE(ret, name, args) static ret(*name) args;
LIBRDKAFKA_FUNCTIONS(DECLARE)

static void die(const char *what, const char *detail) {
    fprintf(stderr, "librdkafka-bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void load(const char *path) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) die("dlopen", dlerror());
#define LOAD(ret, name, args) \
    if (!(*(void **)&name = dlsym(lib, #name))) die("dlsym " #name, dlerror());
    LIBRDKAFKA_FUNCTIONS(LOAD)
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) die(name, errstr);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long delivery_errors;
static int first_error;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk, (void)opaque;
    if (message->err && delivery_errors++ == 0) first_error = message->err;
}

struct options {
    const char *mode, *bootstrap, *topic, *library;
    long count, size, partitions, batch_size;
};

static long produce(const struct options *o) {
    char errstr[512], batch[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", o->bootstrap);
    set(conf, "acks", "1");
    set(conf, "linger.ms", "5");
    set(conf, "enable.idempotence", "false");
    snprintf(batch, sizeof batch, "%ld", o->batch_size);
    set(conf, "batch.size", batch);
    set(conf, "queue.buffering.max.messages", "1000000");
    set(conf, "delivery.report.only.error", "true");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) die("rd_kafka_new", errstr);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if (!rkt) die("rd_kafka_topic_new", rd_kafka_err2str(rd_kafka_last_error()));
    unsigned char *payload = malloc(o->size);
    for (long i = 0; i < o->size; i++) payload[i] = (unsigned char)rand();
    for (long i = 0; i < o->count; i++) {
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, o->size, NULL, 0, NULL)) {
            int err = rd_kafka_last_error();
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("rd_kafka_produce", rd_kafka_err2str(err));
            rd_kafka_poll(rk, 5);
        }
        if ((i & 0x3FFF) == 0) rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000)) die("rd_kafka_flush", "records left after 120 s");
    if (delivery_errors) die("delivery failed", rd_kafka_err2str(first_error));
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(payload);
    return o->count;
}

static long consume(const struct options *o) {
    char errstr[512], group[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", o->bootstrap);
    snprintf(group, sizeof group, "bench-%ld", (long)now());
    set(conf, "group.id", group);
    set(conf, "enable.auto.commit", "false");
    set(conf, "fetch.queue.backoff.ms", "10");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) die("rd_kafka_new", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new((int)o->partitions);
    for (int32_t p = 0; p < o->partitions; p++) {
        rd_kafka_topic_partition_list_add(partitions, o->topic, p);
        rd_kafka_topic_partition_list_set_offset(partitions, o->topic, p, RD_KAFKA_OFFSET_BEGINNING);
    }
    if (rd_kafka_assign(rk, partitions)) die("rd_kafka_assign", NULL);
    rd_kafka_topic_partition_list_destroy(partitions);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *batch[10000];
    long received = 0;
    double deadline = now() + 120;
    while (received < o->count && now() < deadline) {
        size_t want = o->count - received < 10000 ? (size_t)(o->count - received) : 10000;
        ssize_t n = rd_kafka_consume_batch_queue(queue, 500, batch, want);
        for (ssize_t i = 0; i < n; i++) {
            if (batch[i]->err == 0) received++;
            else if (batch[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) die("consume", rd_kafka_err2str(batch[i]->err));
            rd_kafka_message_destroy(batch[i]);
        }
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return received;
}

static long number(const char *flag, const char *value) {
    char *end;
    long n = strtol(value, &end, 10);
    if (*end || n <= 0) die(flag, "needs a positive number");
    return n;
}

int main(int argc, char **argv) {
    struct options o = {.bootstrap = "127.0.0.1:9092", .topic = NULL, .library = "librdkafka.so.1",
                        .count = 100000, .size = 100, .partitions = 1, .batch_size = 1000000};
    if (argc < 2 || (strcmp(argv[1], "produce") && strcmp(argv[1], "consume")))
        die("usage", "librdkafka-bench produce|consume --bootstrap B --topic T --count N [--size S] "
                     "[--partitions P] [--batch-size N] [--librdkafka PATH]");
    o.mode = argv[1];
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) die(argv[i], "needs a value");
        const char *flag = argv[i], *value = argv[i + 1];
        if (!strcmp(flag, "--bootstrap")) o.bootstrap = value;
        else if (!strcmp(flag, "--topic")) o.topic = value;
        else if (!strcmp(flag, "--librdkafka")) o.library = value;
        else if (!strcmp(flag, "--count")) o.count = number(flag, value);
        else if (!strcmp(flag, "--size")) o.size = number(flag, value);
        else if (!strcmp(flag, "--partitions")) o.partitions = number(flag, value);
        else if (!strcmp(flag, "--batch-size")) o.batch_size = number(flag, value);
        else die("unknown flag", flag);
    }
    if (!o.topic) die("--topic is required", NULL);
    load(o.library);
    double start = now();
    long messages = !strcmp(o.mode, "produce") ? produce(&o) : consume(&o);
    double seconds = now() - start;
    printf("{\"messages\": %ld, \"seconds\": %.6f, \"librdkafka\": \"%s\"}\n", messages, seconds, rd_kafka_version_str());
    return 0;
}
