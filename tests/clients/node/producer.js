#!/usr/bin/env node
// kafkajs producer with default settings (acks -1, not idempotent, kafkajs's default partitioner).
//
// usage: producer.js BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
// Produces COUNT records of the contract in tests/clients/records.py and prints one JSON summary
// line. kafkajs has no background batching: the application hands it arrays of messages, so this
// sends chunks of CHUNK records, each send() awaited (its resolution is the ack for the chunk).
// Exit 1 unless every record was acknowledged.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const CLIENT = 'kafkajs';
const PAD_LEN = 100;
const CHUNK = 500;

function value(runId, i) {
  let pad = '';
  for (let j = 0; j < PAD_LEN; j++) pad += String.fromCharCode(97 + ((i + j) % 26));
  return `${CLIENT}-${runId}-${i}|${pad}`;
}

async function main() {
  const [bootstrap, topic, countArg, runId, timeoutArg] = process.argv.slice(2);
  if (!runId) {
    console.error('usage: producer.js BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]');
    process.exit(2);
  }
  const count = Number(countArg);
  const timeoutMs = (timeoutArg ? Number(timeoutArg) : 120) * 1000;
  const start = process.hrtime.bigint();
  const summary = { client: CLIENT, count, acked: 0, errors: 0, first_error: null, seconds: 0 };
  const finish = (code) => {
    summary.seconds = Math.round(Number(process.hrtime.bigint() - start) / 1e6) / 1000;
    process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(code));
  };
  // The harness kills a stuck run too; this gives a summary line first.
  const timer = setTimeout(() => {
    summary.first_error = summary.first_error || `not done in ${timeoutMs / 1000} s`;
    summary.errors = count - summary.acked;
    finish(1);
  }, timeoutMs);

  // Logs go to stderr so that stdout carries only JSON lines of ours.
  const logCreator = () => ({ level, log }) => {
    if (level <= logLevel.WARN) process.stderr.write(JSON.stringify(log) + '\n');
  };
  const kafka = new Kafka({ brokers: [bootstrap], logCreator, ...require('./security')() });
  const producer = kafka.producer();
  try {
    await producer.connect();
    for (let base = 0; base < count; base += CHUNK) {
      const messages = [];
      for (let i = base; i < Math.min(count, base + CHUNK); i++) {
        messages.push({
          key: `key-${i}`,
          value: value(runId, i),
          headers: { seq: String(i), client: CLIENT },
        });
      }
      try {
        await producer.send({ topic, messages });
        summary.acked += messages.length;
      } catch (e) {
        summary.errors += messages.length;
        summary.first_error = summary.first_error || String(e);
      }
    }
    await producer.disconnect();
  } catch (e) {
    summary.first_error = summary.first_error || String(e);
  }
  clearTimeout(timer);
  if (summary.acked + summary.errors < count) summary.errors = count - summary.acked;
  finish(summary.acked === count && summary.errors === 0 ? 0 : 1);
}

main();
