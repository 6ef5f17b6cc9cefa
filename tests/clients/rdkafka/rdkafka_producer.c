/* librdkafka (Debian's 2.0.2, the C API) producer with default settings.
 *
 * usage: rdkafka-producer BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
 * Produces COUNT records of the contract in tests/clients/records.py, waits for every delivery report
 * and prints one JSON summary line. Exit 1 unless every record was acknowledged. Built by
 * tests/clients/install.sh, outside the CMake build: it is a client under test, not project code. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENT "rdkafka-c"
#define PAD_LEN 100

struct stats {
  long acked;
  long errors;
  char first_error[256];
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct stats *st = opaque;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    st->acked++;
    return;
  }
  if (st->errors++ == 0)
    snprintf(st->first_error, sizeof st->first_error, "%s", rd_kafka_err2str(m->err));
}

/* The error text goes into a JSON string as is: blank out the characters that would need escaping
 * rather than carry an escaper for a diagnostic. */
static void sanitize(char *s) {
  for (; *s; s++)
    if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) *s = ' ';
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]\n", argv[0]);
    return 2;
  }
  const char *bootstrap = argv[1], *topic = argv[2], *run_id = argv[4];
  long count = atol(argv[3]);
  double timeout = argc > 5 ? atof(argv[5]) : 120.0;
  double start = now_s(), deadline = start + timeout;
  struct stats st = {0};
  char errstr[512];

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 2;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 2;
  }

  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";
  long handed = 0;
  for (long i = 0; i < count; i++) {
    char key[32], seq[32], value[256];
    snprintf(key, sizeof key, "key-%ld", i);
    snprintf(seq, sizeof seq, "%ld", i);
    int n = snprintf(value, sizeof value, "%s-%s-%ld|", CLIENT, run_id, i);
    if (n < 0 || (size_t)n + PAD_LEN >= sizeof value) {
      fprintf(stderr, "run id too long\n");
      return 2;
    }
    for (int j = 0; j < PAD_LEN; j++) value[n + j] = alphabet[(i + j) % 26];
    n += PAD_LEN;

    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(value, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("seq", seq, -1),
                              RD_KAFKA_V_HEADER("client", CLIENT, -1), RD_KAFKA_V_END);
      /* A full local queue drains as delivery reports are served. */
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_s() > deadline) break;
      rd_kafka_poll(rk, 50);
    }
    if (err) {
      if (st.errors++ == 0)
        snprintf(st.first_error, sizeof st.first_error, "producev: %s", rd_kafka_err2str(err));
      break;
    }
    handed++;
    rd_kafka_poll(rk, 0);
  }

  int left_ms = (int)((deadline - now_s()) * 1000);
  rd_kafka_flush(rk, left_ms > 0 ? left_ms : 0);
  int unreported = rd_kafka_outq_len(rk);
  rd_kafka_destroy(rk);

  long missing = count - st.acked - st.errors;
  if (missing > 0) {
    if (st.errors == 0)
      snprintf(st.first_error, sizeof st.first_error,
               "%ld records without a delivery report (%d still queued, %ld handed over)", missing,
               unreported, handed);
    st.errors += missing;
  }
  sanitize(st.first_error);
  printf("{\"client\": \"%s\", \"count\": %ld, \"acked\": %ld, \"errors\": %ld, ", CLIENT, count,
         st.acked, st.errors);
  if (st.errors)
    printf("\"first_error\": \"%s\", ", st.first_error);
  else
    printf("\"first_error\": null, ");
  printf("\"seconds\": %.3f}\n", now_s() - start);
  return st.acked == count && st.errors == 0 ? 0 : 1;
}
